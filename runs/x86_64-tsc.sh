# x86_64, the series' first patch (an upstream fix): a new vCPU whose VM's
# default TSC rate can't be set must still run its TSC at the host's rate,
# offset as usual.  L1 has no constant TSC under TCG, so KVM takes every
# VM's default rate from the early calibration; tsc=reliable keeps the TSC
# as L1's clocksource through the refined calibration, and a zero
# tolerance makes any change of rate that refinement brings one that KVM
# can't set without TSC scaling, which the emulated SVM lacks.  On 7.3.4
# both tests of its plan then fail in every boot (README, "Known flakes").
TARGET=x86_64
CMDLINE="kvm_amd.npt=0 tsc=reliable kvm.tsc_tolerance_ppm=0"
RUN_PLAN=/plans/x86_64-tsc.plan
