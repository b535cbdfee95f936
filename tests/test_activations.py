"""The package's sigmoid: the logistic function, for arrays in place and for plain numbers."""
import numpy as np
import torch

from lstm_course.numpy.activations import sigmoid


def test_sigmoid_matches_torch_for_arrays_scalars_and_in_place():
    a = np.linspace(-40.0, 40.0, 101)
    expected = torch.sigmoid(torch.from_numpy(a)).numpy()
    np.testing.assert_allclose(sigmoid(a), expected, rtol=0, atol=1e-15)
    assert abs(sigmoid(1.0) - 1.0 / (1.0 + np.exp(-1.0))) < 1e-16
    buf = a.copy()
    assert sigmoid(buf, out=buf) is buf
    np.testing.assert_allclose(buf, expected, rtol=0, atol=1e-15)
