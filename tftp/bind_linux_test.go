package tftp

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestNewPermissionDenied binds port 69 without the right to: New must
// fail with an error that errors.Is recognises as EACCES. As root the test
// drops CAP_NET_BIND_SERVICE from the one thread that calls New
// (capabilities are per thread on Linux); the thread is never unlocked, so
// it ends with the goroutine.
func TestNewPermissionDenied(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		t.Skipf("cannot tell which ports are privileged: %v", err)
	}
	if first, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || first <= 69 {
		t.Skipf("port 69 is not privileged here (ip_unprivileged_port_start = %s)", strings.TrimSpace(string(b)))
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := dropBindCapability(); err != nil {
			errc <- errors.New("drop CAP_NET_BIND_SERVICE: " + err.Error())
			return
		}
		s, err := New(Config{Addr: "127.0.0.1:69"})
		if err == nil {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s.Run(ctx)
			err = errors.New("New bound port 69 without CAP_NET_BIND_SERVICE")
		}
		errc <- err
	}()
	err = <-errc
	if !errors.Is(err, syscall.EACCES) {
		t.Fatalf("New(127.0.0.1:69) without the privilege: %v, want an error wrapping EACCES", err)
	}
	if !strings.HasPrefix(err.Error(), "tftp: ") {
		t.Errorf("error %q does not say it is the TFTP server's", err)
	}
}

// dropBindCapability clears CAP_NET_BIND_SERVICE from the effective set of
// the calling thread.
func dropBindCapability() error {
	const (
		version3          = 0x20080522 // _LINUX_CAPABILITY_VERSION_3
		capNetBindService = 10
	)
	hdr := struct {
		version uint32
		pid     int32 // 0: the calling thread
	}{version: version3}
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return e
	}
	data[0].effective &^= 1 << capNetBindService
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return e
	}
	return nil
}
