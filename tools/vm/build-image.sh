#!/usr/bin/env bash
# Builds a small Soft-RoCE test VM: Debian's 6.1 kernel (its rdma_rxe module) plus an
# initramfs with busybox, rdma-core userspace (libibverbs + rxe provider, librdmacm),
# iproute2's `ip` and `rdma`, perftest, fabricctl and tools/vm/guest-init.sh as /init.
#
#   tools/vm/build-image.sh FABRICCTL_BINARY OUT_DIR [EXTRA_BINARY...]
#
# Writes OUT_DIR/vmlinuz and OUT_DIR/initrd.img. The kernel .deb is fetched once with
# `apt-get download` into the cache (FABRICCTL_VM_CACHE, default ~/.cache/fabricctl-vm)
# and never committed; userspace comes from the Debian packages tools/install-deps.sh
# installs on the host (busybox-static, libibverbs1, ibverbs-providers, librdmacm1,
# iproute2, perftest), copied with the shared libraries ldd lists. EXTRA_BINARY files
# (e.g. the unit-test binary) are copied to /usr/local/bin with their libraries.
set -euo pipefail

die() { echo "build-image: $*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: build-image.sh FABRICCTL_BINARY OUT_DIR [EXTRA_BINARY...]"
fabricctl=$(readlink -f "$1")
out=$2
shift 2
extras=("$@")
[ -x "$fabricctl" ] || die "$fabricctl: not an executable"
here=$(cd "$(dirname "$0")" && pwd)
cache=${FABRICCTL_VM_CACHE:-$HOME/.cache/fabricctl-vm}
mkdir -p "$cache" "$out"

for tool in busybox cpio strings ldd dpkg-deb; do
  command -v "$tool" >/dev/null || die "$tool not found (run tools/install-deps.sh)"
done
[ -x /bin/busybox ] || die "/bin/busybox not found: apt-get install busybox-static"

# --- Kernel: the package linux-image-amd64 points at, unless one is cached already. ---
kernel_pkg=${FABRICCTL_VM_KERNEL_PKG:-}
if [ -z "$kernel_pkg" ]; then
  cached=$(ls "$cache"/linux-image-6.1.*-amd64_*.deb 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$cached" ]; then
    kernel_pkg=$(basename "$cached" | cut -d_ -f1)
  else
    find_kernel_pkg() {
      kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
                   sed -n 's/^ *Depends: \(linux-image-6\.1\.[0-9.-]*-amd64\)$/\1/p' | head -n1)
      [ -n "$kernel_pkg" ] || kernel_pkg=$(apt-cache search --names-only '^linux-image-6\.1\.[0-9.-]+-amd64$' |
                                          cut -d' ' -f1 | sort -V | tail -n1)
    }
    find_kernel_pkg
    # A fresh machine may have no package lists yet.
    if [ -z "$kernel_pkg" ] && [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq >/dev/null 2>&1 || true
      find_kernel_pkg
    fi
  fi
fi
[ -n "$kernel_pkg" ] || die "no linux-image-6.1.*-amd64 package found (apt-get update?)"
deb=$(ls "$cache/${kernel_pkg}"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  echo "build-image: downloading $kernel_pkg into $cache"
  (cd "$cache" && apt-get download "$kernel_pkg" >/dev/null 2>&1) || die "apt-get download $kernel_pkg failed"
  deb=$(ls "$cache/${kernel_pkg}"_*.deb | head -n1)
fi
kdir="$cache/${kernel_pkg}.x"
if [ ! -f "$kdir/.complete" ]; then
  rm -rf "$kdir"
  mkdir -p "$kdir"
  dpkg-deb -x "$deb" "$kdir"
  touch "$kdir/.complete"
fi
kver=${kernel_pkg#linux-image-}
moddir="$kdir/lib/modules/$kver"
[ -d "$moddir" ] || die "$moddir missing in $deb"
cp "$kdir/boot/vmlinuz-$kver" "$out/vmlinuz"

# --- Modules and their dependencies (from each .ko's depends= field), in load order. ---
# crc32_generic first: rdma_rxe asks the crypto API for crc32 and nothing autoloads it here.
wanted=(crc32_generic configfs veth udp_tunnel ip6_udp_tunnel ib_core ib_uverbs ib_umad ib_cm iw_cm
        rdma_cm rdma_ucm rdma_rxe)
declare -A ko_path=()
while IFS= read -r f; do
  n=$(basename "$f"); n=${n%%.ko*}; ko_path[$n]=$f
done < <(find "$moddir/kernel" -name '*.ko')
declare -A placed=()
order=()
place() {  # depth-first: dependencies before the module
  local m=$1 deps d
  [ -n "${placed[$m]:-}" ] && return 0
  [ -n "${ko_path[$m]:-}" ] || die "module $m not found under $moddir"
  placed[$m]=1
  deps=$(strings "${ko_path[$m]}" | sed -n 's/^depends=//p' | head -n1)
  for d in ${deps//,/ }; do place "$d"; done
  order+=("$m")
}
for m in "${wanted[@]}"; do place "$m"; done

# --- Root file system. ---
root=$(mktemp -d "${TMPDIR:-/tmp}/fabricctl-vm-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,etc,proc,sys,dev,tmp,run,root,modules}
ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"

for m in "${order[@]}"; do cp "${ko_path[$m]}" "$root/modules/$m.ko"; done
printf '%s\n' "${order[@]}" > "$root/modules/order"

# Copies a file to the same path in the image (following symlinks) with its libraries.
copy_with_libs() {
  local src=$1 dst=${2:-$1} lib
  mkdir -p "$root$(dirname "$dst")"
  cp -L "$src" "$root$dst"
  for lib in $(ldd "$src" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^\s*\(\/[^ ]*\) (.*/\1/p'); do
    if [ ! -e "$root$lib" ]; then
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    fi
  done
}

# busybox applets, except the ones replaced by real tools (busybox's ip cannot make veths).
cp /bin/busybox "$root/usr/bin/busybox"
for applet in $(/bin/busybox --list); do
  case $applet in ip|busybox) continue ;; esac
  [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
done

for bin in /usr/sbin/ip /usr/bin/rdma /usr/bin/ib_send_lat /usr/bin/ib_write_bw /usr/bin/ib_write_lat \
           /usr/bin/ibv_devinfo /usr/bin/ibv_devices /usr/bin/rping; do
  if [ -x "$bin" ]; then
    rm -f "$root$bin"
    copy_with_libs "$bin"
  else
    case $bin in
      /usr/sbin/ip|/usr/bin/rdma|/usr/bin/ib_send_lat|/usr/bin/ib_write_bw) die "$bin missing (run tools/install-deps.sh)" ;;
    esac
  fi
done

# libibverbs finds providers through /etc/libibverbs.d; ship only rxe so nothing warns.
provider=$(ls /usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav*.so 2>/dev/null | head -n1)
[ -n "$provider" ] || die "rxe provider missing: apt-get install ibverbs-providers"
copy_with_libs "$provider"
mkdir -p "$root/etc/libibverbs.d"
cp /etc/libibverbs.d/rxe.driver "$root/etc/libibverbs.d/"
# glibc dlopens libgcc_s at run time (thread cancellation, unwinding); ldd does not list it.
libgcc=$(ldconfig -p | sed -n 's/.*libgcc_s.so.1 (libc6,x86-64) => \(.*\)/\1/p' | head -n1)
[ -n "$libgcc" ] && copy_with_libs "$libgcc"

# fabricctl and extras without debug info: they dominate the image size otherwise.
copy_with_libs "$fabricctl" /usr/local/bin/fabricctl
strip --strip-debug "$root/usr/local/bin/fabricctl" 2>/dev/null || true
for x in "${extras[@]}"; do
  [ -x "$x" ] || die "$x: not an executable"
  copy_with_libs "$(readlink -f "$x")" "/usr/local/bin/$(basename "$x")"
  strip --strip-debug "$root/usr/local/bin/$(basename "$x")" 2>/dev/null || true
done

echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
printf '127.0.0.1 localhost\n198.18.0.1 vm-a\n198.18.0.2 vm-b\n' > "$root/etc/hosts"
cp "$here/guest-init.sh" "$root/init"
chmod 755 "$root/init"

# Uncompressed: the kernel unpacks it faster than it would gunzip under emulation.
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) > "$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
echo "build-image: $out/vmlinuz ($kver), $out/initrd.img ($(du -h "$out/initrd.img" | cut -f1)), modules: ${order[*]}"
