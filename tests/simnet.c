//  placeholder replaced by the simulated network (see tests/simnet.h)
