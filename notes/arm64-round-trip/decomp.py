#!/usr/bin/env python3
"""Split arm64's KVM Userfault residual (notes/arm64-round-trip.md, section 4).

Reads a bench-boot log of the scratch timing kernel (../arm64-round-trip-timing.diff)
running `fault_latency -m none-populated,kvm-userfault-populated,kvm-run`, and prints,
per run, the means of each interval and the residual split.  The residual is
KVM's part of a -P page minus an ordinary fault on an allocated page minus an
empty KVM_RUN.  The first three columns of the table are measured intervals;
"the rest" and "outside the kernel" are what is left of each side once the
measured intervals are taken out, so the columns add up by construction.
Usage: decomp.py LOG
"""
import re,sys
runs=[];cur={}
for line in open(sys.argv[1]):
    m=re.match(r'.*latency mech=(\S+) step=(\S+) n=\d+ p50_ns=(\d+) p99_ns=(\d+) mean_ns=(\d+)',line)
    if m:
        mech,step,p50,p99,mean=m.groups()
        if mech=='none-populated' and step=='total' and cur.get('done'):
            runs.append(cur);cur={}
        cur[(mech,step)]=(int(p50),int(mean))
        if mech=='kvm-run': cur['done']=1
        continue
    m=re.match(r'.*stats mech=(\S+) per-page: vcpu:(.*?)( vm:.*)?$',line)
    if m:
        for kv in m.group(2).split():
            k,v=kv.split('='); cur[(m.group(1),k)]=float(v)
if cur: runs.append(cur)
def g(r,m,k,i=1):
    v=r.get((m,k)); 
    if v is None: return 0.0
    return (v[i] if isinstance(v,tuple) else v)/1000
for n,r in enumerate(runs,1):
    np_,uf,kr='none-populated','kvm-userfault-populated','kvm-run'
    T_np=g(r,np_,'total'); T_uf=g(r,uf,'total'); U=g(r,uf,'userspace'); K=g(r,uf,'kvm')
    T_kr=g(r,kr,'immediate-exit')
    print(f"run {n}: MEANS us: none-pop {T_np:.1f}  kvm-run {T_kr:.1f}  uf kvm-part {K:.1f} (total {T_uf:.1f} user {U:.1f})  residual {K-T_np-T_kr:.1f}")
    print(f"   p50: none-pop {g(r,np_,'total',0):.1f} kvm-run {g(r,kr,'immediate-exit',0):.1f} uf kvm {g(r,uf,'kvm',0):.1f} residual {g(r,uf,'kvm',0)-g(r,np_,'total',0)-g(r,kr,'immediate-exit',0):.1f}")
    d=lambda m,k: g(r,m,'dbg_'+k)
    print(f"   np : inloop {d(np_,'inloop_ns'):.1f} (abortmap {d(np_,'abortmap_ns'):.1f})  outside {T_np-d(np_,'inloop_ns'):.1f}")
    print(f"   kr : ioctl {d(kr,'ioctl_ns'):.1f} (load {d(kr,'load_ns'):.1f} put {d(kr,'put_ns'):.1f})  syscall+outside {T_kr-d(kr,'ioctl_ns'):.1f}")
    e,x=d(uf,'entry_ns'),d(uf,'exitpath_ns')
    print(f"   uf : entry {e:.1f} (load {d(uf,'load_ns'):.1f} replay {d(uf,'replay_ns'):.1f} walk {d(uf,'walk_ns'):.1f} other {e-d(uf,'load_ns')-d(uf,'replay_ns'):.1f})  exitpath {x:.1f} (abort {d(uf,'abort_ns'):.1f} put {d(uf,'put_ns'):.1f} other {x-d(uf,'abort_ns')-d(uf,'put_ns'):.1f})  ioctl {d(uf,'ioctl_ns'):.1f} inloop {d(uf,'inloop_ns'):.1f}  outside {K-e-x:.1f}")
    ink = (e+x) - d(np_,'inloop_ns') - d(kr,'ioctl_ns')
    out = (K-e-x) - (T_np-d(np_,'inloop_ns')) - (T_kr-d(kr,'ioctl_ns'))
    print(f"   residual split: in-kernel extra {ink:.1f}  outside-kernel extra {out:.1f}")
print("| run | residual (mean) | first fault up to the exit | replay minus an ordinary fault's handling | of which the stat walk | vcpu_load+put: userfault minus kvm-run | the rest of KVM_RUN's entry and exit | outside the kernel |")
for n,r in enumerate(runs,1):
    np_,uf,kr='none-populated','kvm-userfault-populated','kvm-run'
    d=lambda m,k: g(r,m,'dbg_'+k)
    K=g(r,uf,'kvm'); T_np=g(r,np_,'total'); T_kr=g(r,kr,'immediate-exit')
    e,x=d(uf,'entry_ns'),d(uf,'exitpath_ns')
    ab=d(uf,'abort_ns'); rep=d(uf,'replay_ns')-d(np_,'abortmap_ns'); walk=d(uf,'walk_ns')
    lp=(d(uf,'load_ns')+d(uf,'put_ns'))-(d(kr,'load_ns')+d(kr,'put_ns'))
    rest=(e+x-d(uf,'load_ns')-d(uf,'put_ns')-d(uf,'replay_ns')-ab)-(d(np_,'inloop_ns')-d(np_,'abortmap_ns'))-(d(kr,'ioctl_ns')-d(kr,'load_ns')-d(kr,'put_ns'))
    out=(K-e-x)-(T_np-d(np_,'inloop_ns'))-(T_kr-d(kr,'ioctl_ns'))
    print(f"| {n} | {K-T_np-T_kr:.1f} | {ab:.1f} | {rep:.1f} | {walk:.1f} | {lp:.1f} | {rest:.1f} | {out:.1f} |")
