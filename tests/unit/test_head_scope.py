"""The head's decoding stays float under INT8; its conv branches (both heads if end-to-end) do not."""

from edgecompress.backends.head_scope import head_decode_names


def test_decoding_is_kept_and_the_conv_branches_are_quantizable():
    names = [
        "/model.0/conv/Conv",
        "/model.22/cv2.0/cv2.0.0/conv/Conv",
        "/model.22/cv3.2/cv3.2.2/Conv",
        "/model.22/dfl/conv/Conv",
        "/model.22/dfl/Softmax",
        "/model.22/Sigmoid",
        "/model.22/Concat_3",
    ]
    assert head_decode_names(names) == names[3:]
    assert head_decode_names(["Conv_0"]) == []


def test_an_end_to_end_heads_one_to_one_branches_are_quantizable():
    names = [
        "/model.23/one2one_cv2.0/one2one_cv2.0.0/conv/Conv",
        "/model.23/one2one_cv3.1/one2one_cv3.1.2/Conv",
        "/model.23/TopK",
        "/model.23/Sigmoid",
    ]
    assert head_decode_names(names) == names[2:]
