package store

import (
	"os"
	"syscall"
)

// syncData flushes f's data to disk, and its metadata only where reading
// the data back needs it (fdatasync): not its times.
//
// With held, the call keeps its goroutine's P (processor) through the
// system call. A blocking call the Go runtime is told of gives its P up
// once it has taken about 20 µs, and must win one back after: in a storm
// that is, for every group commit, a thread woken to take the P, a thread
// parked, and the runtime's monitor kept waking every 20 µs. Measured in a
// DHCPv6 first boot (dhcp6_kea.sh, same run): 56-58 -> 49-50 µs CPU per
// exchange at 32 in flight, 41 -> 38 at 256, and a higher rate at both. The
// price: a call the runtime is not told of holds up the garbage collector's
// stop-the-world, and with it every goroutine, until it returns; the
// journal asks for it only while the disk answers quickly (quickSyncs).
func syncData(f *os.File, held bool) error {
	c, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = c.Control(func(fd uintptr) {
		if !held {
			serr = syscall.Fdatasync(int(fd))
			return
		}
		for {
			_, _, e := syscall.RawSyscall(syscall.SYS_FDATASYNC, fd, 0, 0)
			if e != syscall.EINTR {
				if e != 0 {
					serr = e
				}
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
