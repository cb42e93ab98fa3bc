"""Fixtures: the backends to run on, the golden cases, torch when it is there."""

import os

import pytest

import seattn

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.environ.get("SEATTN_GOLDEN_DIR",
                            os.path.join(HERE, "..", "..", "..", "shared", "golden"))
GOLDEN_MODELS_DIR = os.environ.get("SEATTN_GOLDEN_MODELS_DIR",
                                   os.path.join(HERE, "..", "..", "..", "shared", "golden-models"))


def _on(name):
    v = os.environ.get(name, "")
    return v not in ("", "0")


@pytest.fixture(params=["cpu", "vulkan"])
def backend(request):
    """Each test once on the CPU reference and once on the default Vulkan device. Without a
    device the Vulkan run skips, or fails under SEATTN_TEST_REQUIRE_DEVICE=1."""
    if request.param == "vulkan":
        try:
            seattn.attention  # noqa: B018
            seattn._default_context("vulkan", None)
        except seattn.Error as e:
            if _on("SEATTN_TEST_REQUIRE_DEVICE"):
                pytest.fail("no Vulkan device, and SEATTN_TEST_REQUIRE_DEVICE=1: %s" % e)
            pytest.skip("no Vulkan device: %s" % e)
    return request.param


@pytest.fixture
def torch():
    """torch, or a skip; SEATTN_TEST_REQUIRE_TORCH=1 (CI) makes a missing torch a failure."""
    try:
        import torch as t
    except ImportError:
        if _on("SEATTN_TEST_REQUIRE_TORCH"):
            pytest.fail("torch is not installed, and SEATTN_TEST_REQUIRE_TORCH=1")
        pytest.skip("torch is not installed")
    return t
