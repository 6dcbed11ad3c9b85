#!/usr/bin/env python3
"""The same Transformer classifier and training loop as bench_nn.cc, in
PyTorch's Python API (Debian python3-torch 1.13): seconds per epoch."""
import sys
import time

import torch
import torch.nn as nn

n = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
torch.manual_seed(42)
torch.set_num_threads(2)
V, D, H, L, FF, T = 5000, 64, 4, 2, 128, 64


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, D, padding_idx=0)
        self.pos = nn.Embedding(T, D)
        layer = nn.TransformerEncoderLayer(D, H, FF, 0.1, activation="gelu")
        self.enc = nn.TransformerEncoder(layer, L, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(D)
        self.head = nn.Linear(D, 2)

    def forward(self, t):
        x = self.tok(t) + self.pos(torch.arange(t.shape[1]).unsqueeze(0))
        pad = t.eq(0)
        h = self.norm(self.enc(x.transpose(0, 1), src_key_padding_mask=pad).transpose(0, 1))
        m = (~pad).unsqueeze(-1).float()
        return self.head((h * m).sum(1) / m.sum(1).clamp_min(1))


net = Net()
x = torch.randint(1, V, (n, T))
y = torch.randint(0, 2, (n,))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
t0 = time.time()
for _ in range(epochs):
    net.train()
    perm = torch.randperm(n)
    for b in range(0, n, 64):
        idx = perm[b:b + 64]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
secs = time.time() - t0
print(f"peer_seconds_per_epoch {secs / epochs:.2f}")
print(f"peer_sequences_per_second {n * epochs / secs:.0f}")
