/* act_hash.c — FNV-1a hash of nf_act_forward/backward outputs of every activation on 2^20
 * inputs in [-40, 40]; see check.sh. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include "nnfit/act.h"
int main(void){ enum{N=1<<20}; static float z[N],a[N],d[N]; uint64_t h=1469598103934665603ull;
 for(int i=0;i<N;i++) z[i]=-40.0f+80.0f*(float)i/N;
 for(int k=0;k<NF_ACT_COUNT;k++){ nf_act_spec s={(nf_act_kind)k,nf_act_default_param((nf_act_kind)k)}; nf_act_forward(&s,z,a,N); for(int i=0;i<N;i++)d[i]=1; nf_act_backward(&s,z,a,d,N);
  for(int i=0;i<N;i++){uint32_t u,v; memcpy(&u,a+i,4); memcpy(&v,d+i,4); h=(h^u)*1099511628211ull; h=(h^v)*1099511628211ull;} }
 printf("%016llx\n",(unsigned long long)h); }
