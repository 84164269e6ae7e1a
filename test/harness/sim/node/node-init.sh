#!/bin/sh
# First process of a simulated node, run inside its fresh network + mount + UTS namespaces:
# set the hostname, bind the node's host folders over the kubeadm paths and the shim folder
# over /usr/local/sbin, then hold the namespaces open (sshd and the fake kubelet join them).
set -eu
node_dir=$1
name=$2
hostname "$name"
for p in etc/kubernetes var/lib/kubelet var/lib/etcd var/lib/kube-pki; do
    mount --bind "$node_dir/root/$p" "/$p"
done
mount --bind "$node_dir/sim/sbin" /usr/local/sbin
# The host's users plus a second uid-0 login (SIM_ALT_SSH_USER), visible to this node only.
if [ -f "$node_dir/sim/passwd" ]; then mount --bind "$node_dir/sim/passwd" /etc/passwd; fi
echo ready
exec sleep infinity
