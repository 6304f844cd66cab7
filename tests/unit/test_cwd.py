"""Channel-wise distillation: the loss and how student channels are aligned to the teacher's."""

import torch


def test_cwd_aligns_student_channels_with_one_conv_or_none():
    from edgecompress.models.yolo_training import channel_aligners

    aligners = channel_aligners([32, 64, 128], [64, 64, 256])
    assert [type(m).__name__ for m in aligners] == ["Conv2d", "Identity", "Conv2d"]
    assert aligners[0](torch.zeros(1, 32, 4, 4)).shape == (1, 64, 4, 4)
    assert aligners[0].kernel_size == (1, 1)


def test_cwd_loss_is_zero_only_for_the_same_spatial_distributions():
    from edgecompress.models.yolo_training import cwd_loss

    torch.manual_seed(0)
    teacher = torch.randn(2, 8, 5, 5)
    assert cwd_loss(teacher, teacher, tau=4.0) < 1e-6
    assert cwd_loss(teacher + 3.0, teacher, tau=4.0) < 1e-6  # a per-channel shift leaves softmax_HW as it is
    assert cwd_loss(torch.randn(2, 8, 5, 5), teacher, tau=4.0) > 1e-3
