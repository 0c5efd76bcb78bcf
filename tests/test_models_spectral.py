"""The multi-scale spectral branch: STFT, embeddings, linear attention, size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unebolt_viz.models.spectral import (
    LinearSelfAttention,
    MultiScaleSpectralEncoder,
    sinusoidal_position_encoding,
    stft_magnitude,
)


@pytest.mark.parametrize("n_fft", [100, 200, 400, 800])
def test_stft_magnitude_equals_torch_stft_and_numpy(n_fft):
    rng = np.random.default_rng(n_fft)
    x = rng.standard_normal((2, 3, 3200))
    got = stft_magnitude(torch.from_numpy(x), n_fft).numpy()
    frames = x.reshape(2, 3, 3200 // n_fft, n_fft)
    expected = np.abs(np.fft.rfft(frames, axis=-1)).transpose(0, 1, 3, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    reference = torch.stft(
        torch.from_numpy(x).reshape(-1, 3200), n_fft, hop_length=n_fft,
        window=torch.ones(n_fft, dtype=torch.float64), center=False, return_complex=True,
    ).abs()  # fmt: skip
    np.testing.assert_allclose(got.reshape(reference.shape), reference.numpy(), atol=1e-9)
    assert got.shape == (2, 3, n_fft // 2 + 1, 3200 // n_fft)


def test_sinusoidal_position_encoding_formula():
    table = sinusoidal_position_encoding(32, 200).numpy()
    pos, i = 7, 13
    freq = 10000 ** (-(2 * i) / 200)
    np.testing.assert_allclose(table[pos, 2 * i], np.sin(pos * freq), atol=1e-6)
    np.testing.assert_allclose(table[pos, 2 * i + 1], np.cos(pos * freq), atol=1e-6)


def test_linear_attention_matches_numpy():
    torch.manual_seed(0)
    attn = LinearSelfAttention(dim=12, heads=3, dropout=0.0).eval()
    x = torch.randn(2, 9, 12)
    w = {k: getattr(attn, k).weight.detach().numpy() for k in ("to_q", "to_k", "to_v", "to_out")}
    xn = x.numpy()
    q, k, v = (xn @ w["to_q"].T, xn @ w["to_k"].T, xn @ w["to_v"].T)
    out = np.zeros_like(q)
    for h in range(3):
        sl = slice(4 * h, 4 * h + 4)
        qh = np.exp(q[..., sl]) / np.exp(q[..., sl]).sum(-1, keepdims=True) / 2.0  # 4 ** -0.5
        kh = np.exp(k[..., sl]) / np.exp(k[..., sl]).sum(1, keepdims=True)
        out[..., sl] = qh @ (np.swapaxes(kh, 1, 2) @ v[..., sl])
    expected = out @ w["to_out"].T + attn.to_out.bias.detach().numpy()
    np.testing.assert_allclose(attn(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_paper_size_parameters_and_token_grid():
    enc = MultiScaleSpectralEncoder(26, 3200)
    # NeuroBOLT (7,907,011) minus LaBraM-base (5,819,936) minus a 1-ROI head (201)
    assert sum(p.numel() for p in enc.parameters()) == 2_086_874
    assert sum(p.numel() for p in enc.parameters() if p.requires_grad) == 2_086_848
    assert [lin.in_features for lin in enc.frequency_embed] == [51, 101, 201, 401]
    assert [lin.in_features for lin in enc.frame_embed] == [32, 16, 8, 4]
    assert all(lin.out_features == 32 for lin in enc.frame_embed)
    assert enc.embed(torch.zeros(1, 26, 3200)).shape == (1, 832, 200)


def test_embedding_is_the_sum_of_levels_plus_channel_and_position():
    torch.manual_seed(1)
    enc = MultiScaleSpectralEncoder(2, 1600, embed_dim=8, levels=2, depth=1, heads=2).eval()
    x = torch.randn(1, 2, 1600)
    expected = torch.zeros(2, 16, 8)
    for level, window in enumerate((100, 200)):
        frames = x[0].reshape(2, 1600 // window, window)
        mag = torch.fft.rfft(frames, dim=-1).abs()  # (C, frames, bins)
        per_frame = mag @ enc.frequency_embed[level].weight.T + enc.frequency_embed[level].bias
        lin = enc.frame_embed[level]
        expected += (per_frame.transpose(1, 2) @ lin.weight.T + lin.bias).transpose(1, 2)
    expected += enc.channel_embed.weight[:, None, :]
    expected += sinusoidal_position_encoding(16, 8)
    torch.testing.assert_close(enc.embed(x)[0], expected.reshape(32, 8), rtol=1e-5, atol=1e-5)


def test_window_length_must_fit_the_longest_stft():
    with pytest.raises(ValueError, match="multiple of the longest STFT window"):
        MultiScaleSpectralEncoder(26, 3000)
