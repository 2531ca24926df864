# MSE of the "hexagonal pyramid": three ReLU units with kinks through the origin 120 degrees
# apart, output weights and bias by least squares, best rotation, on 2e6 points of U[-1,1]^2.
import numpy as np
rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(2_000_000, 2)); y = np.hypot(X[:, 0], X[:, 1])
best = None
for phi in np.linspace(0, 2 * np.pi / 3, 61):
    th = phi + 2 * np.pi * np.arange(3) / 3
    H = np.maximum(X @ np.stack([np.cos(th), np.sin(th)]), 0)
    A = np.column_stack([H, np.ones(len(X))])
    c, *_ = np.linalg.lstsq(A, y, rcond=None)
    mse = np.mean((A @ c - y) ** 2)
    best = mse if best is None or mse < best else best
print(f"hexagon MSE {best:.4e}")
