import pytest

from sagewatch.catalog import Catalog
from sagewatch.sizing import Peaks, cheapest_option, compatible, project

CATALOG = Catalog.load()


def spec(name):
    s = CATALOG.get(name)
    assert s is not None
    return s


def test_cpu_and_gpu_are_normalized_by_cores_and_devices():
    p = Peaks.from_raw(spec("ml.g5.12xlarge"), cpu=400.0, memory=50.0, gpu=200.0, gpu_memory=320.0)
    assert p.cpu == pytest.approx(400 / 48)
    assert p.gpu == pytest.approx(50.0) and p.gpu_memory == pytest.approx(80.0)
    full = Peaks.from_raw(spec("ml.m5.xlarge"), cpu=400.0, memory=10.0)
    assert full.cpu == pytest.approx(100.0)  # 400% on 4 vCPUs is full
    assert full.gpu is None


def test_compute_spreads_over_instances_memory_does_not():
    p = Peaks(cpu=30.0, memory=60.0)
    m5 = spec("ml.m5.xlarge")
    out = project(m5, 4, p, m5, 2)
    assert out == {"cpu": 60.0, "memory": 60.0}


def test_unobserved_accelerator_never_shrinks():
    inf2 = spec("ml.inf2.24xlarge")
    p = Peaks(cpu=5.0, memory=5.0)  # Neuron devices publish no GPU metrics
    assert project(inf2, 1, p, spec("ml.inf2.8xlarge"), 1) is None
    assert project(inf2, 1, p, inf2, 1) is not None


def test_candidates_stay_in_kind_and_gpu_family_and_avoid_burstable():
    assert compatible(spec("ml.m5.xlarge"), spec("ml.c6i.xlarge"))
    assert not compatible(spec("ml.m5.xlarge"), spec("ml.t3.xlarge"))
    assert compatible(spec("ml.t3.xlarge"), spec("ml.t3.medium"))
    assert not compatible(spec("ml.g5.xlarge"), spec("ml.g4dn.xlarge"))
    assert not compatible(spec("ml.g5.xlarge"), spec("ml.inf2.xlarge"))
    assert not compatible(spec("ml.m5.xlarge"), spec("ml.g5.xlarge"))


def test_cheapest_option_under_target():
    m54 = spec("ml.m5.4xlarge")
    p = Peaks.from_raw(m54, cpu=0.12 * 1600, memory=18.0)
    best = cheapest_option(m54, 3, p, CATALOG, 70.0, range(2, 4))
    assert best is not None
    # hand-computed: 3 x ml.r5.xlarge keeps cpu at 48% and memory at 36%, for $661.38 a month
    assert (best.spec.instance_type, best.count, best.monthly_cost) == ("ml.r5.xlarge", 3, 661.38)
    assert all(v <= 70 for v in best.projected.values())


def test_no_option_when_nothing_fits():
    p5 = spec("ml.p5.48xlarge")  # the largest of its family: no bigger GPU memory to move to
    assert cheapest_option(p5, 1, Peaks(cpu=10.0, memory=10.0, gpu=50.0, gpu_memory=99.0), CATALOG, 70.0, [1]) is None


def test_per_resource_limits():
    g = spec("ml.g5.12xlarge")
    p = Peaks(cpu=30.0, memory=50.0, gpu=96.0, gpu_memory=80.0)
    assert cheapest_option(g, 1, p, CATALOG, 70.0, range(1, 3)) is None
    best = cheapest_option(
        g, 1, p, CATALOG, {"gpu": 70.0, "gpu_memory": 80.0, "cpu": 70.0, "memory": 70.0}, range(1, 3)
    )
    assert best is not None and (best.spec.instance_type, best.count) == ("ml.g5.12xlarge", 2)
