"""BatchNorm recalibration: running statistics become the exact averages over the given batches."""

import numpy as np
import torch

from edgecompress.models.batchnorm_statistics import recalibrate_batchnorm


def test_running_stats_are_the_average_over_all_batches():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.SiLU())
    bn = model[1]
    bn.running_mean.fill_(5.0)
    rng = np.random.default_rng(0)
    batches = [rng.normal(2.0, 1.0, (3, 3, 8, 8)).astype(np.float32) for _ in range(4)]
    assert recalibrate_batchnorm(model, batches) == 12
    with torch.no_grad():
        features = torch.cat([model[0](torch.from_numpy(b)) for b in batches])
    assert torch.allclose(bn.running_mean, features.mean(dim=(0, 2, 3)), atol=1e-4)
    per_batch_var = [model[0](torch.from_numpy(b)).detach().var(dim=(0, 2, 3)) for b in batches]
    assert torch.allclose(bn.running_var, torch.stack(per_batch_var).mean(0), atol=1e-4)
    assert not model.training and bn.momentum == 0.1


def test_weights_are_left_alone():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.BatchNorm2d(2))
    weights = [p.detach().clone() for p in model.parameters()]
    recalibrate_batchnorm(model, [np.ones((2, 3, 4, 4), dtype=np.float32)])
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))


def test_folding_a_constant_input_into_the_bias_keeps_the_output():
    from edgecompress.models.batchnorm_statistics import fold_removed_inputs_into_bias, input_channel_means

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(4, 3, 1)
    x = torch.rand(2, 4, 5, 5)
    x[:, 1] = 0.7  # a constant channel
    expected = conv(x).detach()
    means = input_channel_means([conv], conv, [x.numpy()])[id(conv)]
    assert torch.allclose(means[1], torch.tensor(0.7))
    kept = fold_removed_inputs_into_bias(conv, [1], means)
    assert torch.allclose(kept, means[[0, 2, 3]])
    conv.weight = torch.nn.Parameter(conv.weight.data[:, [0, 2, 3]])
    assert torch.allclose(conv(x[:, [0, 2, 3]]), expected, atol=1e-5)
