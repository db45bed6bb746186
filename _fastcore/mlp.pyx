"""Per-example SGD for the small MLP of "Knowledge Localization: Tentatively Positive Results on OCR".

inputs -> n_hidden -> n_outputs, one example at a time, in the order given: forward, backward, the update
theta -= learning_rate * grad, and the per-parameter tallies of |update| (the essay's a and b) in one pass.

Parameter layout (one flat float64 vector per network, `models.knowledge.model.Layout` names the slices):
    W1 (n_inputs, n_hidden)   input-major: the weights going out of input pixel j are row j, contiguous
    b1 (n_hidden,)
    W2 (n_hidden, n_outputs)
    b2 (n_outputs,)
z1 = x W1 + b1, h = f(z1), z2 = h W2 + b2, y = g(z2). Losses: "squared" L = 1/2 sum_k (y_k - t_k)^2;
"cross_entropy" L = -log softmax(y)_t. t is one-hot (the essay's labels [1, 0] / [0, 1]).

Each example sweeps W1 twice: for its z1, then for its update (with its tally). Fusing the update with the next
example's z1 and adding W1's tallies 32 examples at a time gave the same bits 1.08x sooner (80.4 against 87.2 ms for
1000 examples at 784-100-2, one thread): under the 1.5x a hand-tuned loop must earn, so the loops are plain.

Inputs arrive as uint8 pixel levels and a 256-entry table of their values (x = (level + 1) / 256 for MNIST),
so the data set is held once, as bytes. The kernel draws nothing: examples run in the order given. The numpy
reference is `agents.knowledge.train_examples_numpy`; it sums the dot products in another order (BLAS), so
the two agree to round-off (1e-12, tests/knowledge/test_model.py), not to the bit.
"""
from libc.math cimport exp, fabs, isfinite, log, log1p
from libc.stdint cimport int8_t, int64_t, uint8_t

from _fastcore.pointers cimport In, Out  # W1, z1, the tallies, x and dz1 are separate arrays

import numpy as np

from _fastcore.arrays import check_array

cdef enum:
    SOFTPLUS = 0
    SIGMOID = 1
    RELU = 2
    LINEAR = 3

cdef enum:
    SQUARED = 0
    CROSS_ENTROPY = 1

ACTIVATIONS = {"softplus": SOFTPLUS, "sigmoid": SIGMOID, "relu": RELU, "linear": LINEAR}
LOSSES = {"squared": SQUARED, "cross_entropy": CROSS_ENTROPY}

cdef enum:
    OUTPUTS_CAP = 16

MAX_OUTPUTS = OUTPUTS_CAP


cdef inline double sigmoid(double z) noexcept nogil:
    cdef double e
    if z >= 0.0:
        return 1.0 / (1.0 + exp(-z))
    e = exp(z)
    return e / (1.0 + e)


cdef inline double activate(int kind, double z, double* slope) noexcept nogil:
    """f(z), and f'(z) into slope."""
    cdef double s
    if kind == SOFTPLUS:  # log(1 + e^z) = max(z, 0) + log1p(e^-|z|); its derivative is the sigmoid
        slope[0] = sigmoid(z)
        return (z if z > 0.0 else 0.0) + log1p(exp(-fabs(z)))
    if kind == SIGMOID:
        s = sigmoid(z)
        slope[0] = s * (1.0 - s)
        return s
    if kind == RELU:
        slope[0] = 1.0 if z > 0.0 else 0.0
        return z if z > 0.0 else 0.0
    slope[0] = 1.0
    return z


# The two sweeps of W1 are functions of their own: inlined into train_examples, GCC left the update-and-tally loop
# scalar; called, it vectorises it, and 1000 examples at 784-100-2 take 41 ms, not 91 (the same bits).
cdef void forward(Py_ssize_t I, Py_ssize_t H, In x, In W1, Out z1) noexcept nogil:
    """z1 = x W1 (without b1): z1[i] adds x_j W1[j, i] for j = 0, 1, ..."""
    cdef Py_ssize_t i, j
    for i in range(H):
        z1[i] = 0.0
    for j in range(I):
        for i in range(H):
            z1[i] = z1[i] + x[j] * W1[j * H + i]


cdef void update(Py_ssize_t I, Py_ssize_t H, double lr, In x, In dz1, Out W, Out tally) noexcept nogil:
    """W -= lr * (x_j dz1) row by row (W1 with the inputs x, or b1 with x = [1]), adding |update| to tally (laid
    out as W) unless it is NULL."""
    cdef Py_ssize_t i, j
    cdef double step
    for j in range(I):
        if tally != NULL:
            for i in range(H):
                step = lr * (dz1[i] * x[j])
                W[j * H + i] = W[j * H + i] - step
                tally[j * H + i] = tally[j * H + i] + fabs(step)
        else:
            for i in range(H):
                W[j * H + i] = W[j * H + i] - lr * (dz1[i] * x[j])


def parameter_count(Py_ssize_t n_inputs, Py_ssize_t n_hidden, Py_ssize_t n_outputs):
    """The length of a network's flat parameter vector."""
    return n_inputs * n_hidden + n_hidden + n_hidden * n_outputs + n_outputs


def train_examples(
    theta, tally_a, tally_b, pixels, pixel_values, target_class, order, tally_group, double learning_rate,
    Py_ssize_t n_hidden, int hidden_activation, int output_activation, int loss, losses, correct,
):
    """Train one network on the examples `order` (indices into `pixels`), one at a time; update `theta` in place.

    theta: (P,) float64, see the layout above. tally_a, tally_b: (P,) float64; at position k, |update| of every
    parameter is added to tally_a if tally_group[k] == 0, to tally_b if 1, to neither if -1.
    pixels: (N, n_inputs) uint8; pixel_values: (256,) float64, x = pixel_values[pixel].
    target_class: (N,) int64 in 0..n_outputs-1. order: (K,) int64; tally_group: (K,) int8.
    losses: (K,) float64 out, the loss of each example before its update; correct: (K,) int8 out, whether the
    prediction before the update (argmax y, first on ties) was the target.
    Returns the first position k whose loss was not finite (training stops there), or -1.
    """
    check_array("theta", theta, np.float64, 1)
    check_array("tally_a", tally_a, np.float64, 1)
    check_array("tally_b", tally_b, np.float64, 1)
    check_array("pixels", pixels, np.uint8, 2)
    check_array("pixel_values", pixel_values, np.float64, 1)
    check_array("target_class", target_class, np.int64, 1)
    check_array("order", order, np.int64, 1)
    check_array("tally_group", tally_group, np.int8, 1)
    check_array("losses", losses, np.float64, 1)
    check_array("correct", correct, np.int8, 1)
    n_examples, n_inputs = pixels.shape
    n_params = theta.shape[0]
    n_outputs = (n_params - n_inputs * n_hidden - n_hidden) // (n_hidden + 1) if n_hidden >= 0 else -1
    if n_hidden < 1 or n_outputs < 1 or parameter_count(n_inputs, n_hidden, n_outputs) != n_params:
        raise ValueError(f"theta: expected n_inputs * n_hidden + n_hidden + n_hidden * n_outputs + n_outputs "
                         f"parameters for {n_inputs} inputs and {n_hidden} hidden units, got {n_params}")
    if n_outputs > MAX_OUTPUTS:
        raise ValueError(f"theta: expected at most {MAX_OUTPUTS} outputs, got {n_outputs}")
    if tally_a.shape[0] != n_params or tally_b.shape[0] != n_params:
        raise ValueError(f"tally_a, tally_b: expected {n_params} entries (one per parameter)")
    if pixel_values.shape[0] != 256:
        raise ValueError(f"pixel_values: expected 256 entries (one per uint8 level), got {pixel_values.shape[0]}")
    if target_class.shape[0] != n_examples:
        raise ValueError(f"target_class: expected {n_examples} entries (one per example), got {target_class.shape[0]}")
    cdef Py_ssize_t n_order = order.shape[0]
    if tally_group.shape[0] != n_order or losses.shape[0] != n_order or correct.shape[0] != n_order:
        raise ValueError(f"tally_group, losses, correct: expected {n_order} entries (one per position of order)")
    if n_order and (order.min() < 0 or order.max() >= n_examples):
        raise ValueError(f"order: expected example indices in 0..{n_examples - 1}")
    if n_examples and (target_class.min() < 0 or target_class.max() >= n_outputs):
        raise ValueError(f"target_class: expected classes in 0..{n_outputs - 1}")
    if n_order and (tally_group.min() < -1 or tally_group.max() > 1):
        raise ValueError("tally_group: expected -1 (no tally), 0 (tally_a) or 1 (tally_b)")
    if hidden_activation not in (SOFTPLUS, SIGMOID, RELU, LINEAR) or output_activation not in (
            SOFTPLUS, SIGMOID, RELU, LINEAR):
        raise ValueError(f"activations: expected one of {ACTIVATIONS}")
    if loss not in (SQUARED, CROSS_ENTROPY):
        raise ValueError(f"loss: expected one of {LOSSES}")

    cdef double[::1] th = theta
    cdef double[::1] ta = tally_a
    cdef double[::1] tb = tally_b
    cdef const uint8_t[:, ::1] px = pixels
    cdef const double[::1] pv = pixel_values
    cdef const int64_t[::1] tc = target_class
    cdef const int64_t[::1] ord_ = order
    cdef const int8_t[::1] grp = tally_group
    cdef double[::1] out_loss = losses
    cdef int8_t[::1] out_correct = correct
    cdef double[::1] x = np.empty(n_inputs)
    cdef double[::1] z1 = np.empty(n_hidden)
    cdef double[::1] h = np.empty(n_hidden)
    cdef double[::1] fp1 = np.empty(n_hidden)
    cdef double[::1] dz1 = np.empty(n_hidden)
    cdef double z2[OUTPUTS_CAP]
    cdef double y[OUTPUTS_CAP]
    cdef double gp[OUTPUTS_CAP]
    cdef double dz2[OUTPUTS_CAP]
    cdef Py_ssize_t H = n_hidden, I = pixels.shape[1], O = n_outputs
    cdef Py_ssize_t off_b1 = I * H, off_w2 = I * H + H, off_b2 = I * H + H + H * O
    cdef double* W1 = &th[0]
    cdef double* b1 = W1 + off_b1
    cdef double* W2 = W1 + off_w2
    cdef double* b2 = W1 + off_b2
    cdef double* tally
    cdef const uint8_t* prow
    cdef Py_ssize_t k, e, i, j, o, best, target
    cdef double lr = learning_rate, acc, value, step, top, total, ell, one = 1.0
    cdef int g
    cdef Py_ssize_t bad = -1

    with nogil:
        for k in range(n_order):
            e = ord_[k]
            target = tc[e]
            # z1 = x W1 (without b1), W1 as the examples before left it: z1[i] adds x_j W1[j, i] for j = 0, 1, ...
            prow = &px[e, 0]
            for j in range(I):
                x[j] = pv[prow[j]]
            forward(I, H, &x[0], W1, &z1[0])
            for i in range(H):
                z1[i] = z1[i] + b1[i]
                h[i] = activate(hidden_activation, z1[i], &fp1[i])
            for o in range(O):
                acc = 0.0
                for i in range(H):
                    acc = acc + h[i] * W2[i * O + o]
                z2[o] = acc + b2[o]
                y[o] = activate(output_activation, z2[o], &gp[o])
            best = 0
            for o in range(1, O):
                if y[o] > y[best]:
                    best = o
            out_correct[k] = 1 if best == target else 0
            # loss and dL/dy (into dz2), then dz2 = dL/dy * g'(z2)
            if loss == SQUARED:
                ell = 0.0
                for o in range(O):
                    value = y[o] - (1.0 if o == target else 0.0)
                    ell = ell + value * value
                    dz2[o] = value
                ell = 0.5 * ell
            else:
                top = y[0]
                for o in range(1, O):
                    if y[o] > top:
                        top = y[o]
                total = 0.0
                for o in range(O):
                    dz2[o] = exp(y[o] - top)
                    total = total + dz2[o]
                ell = log(total) - (y[target] - top)
                for o in range(O):
                    dz2[o] = dz2[o] / total - (1.0 if o == target else 0.0)
            out_loss[k] = ell
            if not isfinite(ell):
                bad = k
                break
            for o in range(O):
                dz2[o] = dz2[o] * gp[o]
            # backward into the hidden layer, with W2 before its update
            for i in range(H):
                acc = 0.0
                for o in range(O):
                    acc = acc + W2[i * O + o] * dz2[o]
                dz1[i] = acc * fp1[i]
            # update and tally |update|, layer by layer
            g = grp[k]
            tally = &ta[0] if g == 0 else &tb[0]
            for i in range(H):
                for o in range(O):
                    step = lr * (dz2[o] * h[i])
                    W2[i * O + o] = W2[i * O + o] - step
                    if g >= 0:
                        tally[off_w2 + i * O + o] = tally[off_w2 + i * O + o] + fabs(step)
            for o in range(O):
                step = lr * dz2[o]
                b2[o] = b2[o] - step
                if g >= 0:
                    tally[off_b2 + o] = tally[off_b2 + o] + fabs(step)
            # b1 as a row whose input is 1 (lr * (dz1 * 1.0) is lr * dz1 exactly), then W1 row by row
            update(1, H, lr, &one, &dz1[0], b1, tally + off_b1 if g >= 0 else NULL)
            update(I, H, lr, &x[0], &dz1[0], W1, tally if g >= 0 else NULL)
    return bad
