package tsdb

import (
	"fmt"
	"os"
	"syscall"
)

// datasync flushes the data of f (not its timestamps) to the disk.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// allocate reserves size bytes for f once, so the file never grows and its
// blocks exist (unwritten extents read as zeros: blank pages).
func allocate(f *os.File, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
	if err == nil {
		return nil
	}
	if err == syscall.EOPNOTSUPP || err == syscall.ENOSYS {
		return f.Truncate(size)
	}
	return fmt.Errorf("fallocate %d bytes: %w", size, err)
}

// lockDir takes an exclusive lock so that two processes never share a store.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w (is another process using it?)", path, err)
	}
	return f, nil
}

// adviseRandom turns readahead off for a device file: its pages are read
// one or a few at a time, and readahead would fill the page cache with
// large folios, each of which a later 4 KiB write would dirty whole.
func adviseRandom(f *os.File) {
	syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, 1 /* POSIX_FADV_RANDOM */, 0, 0)
}

// dropCache evicts the clean cached pages of f (POSIX_FADV_DONTNEED), as
// after writing a whole file at once, for the same reason.
func dropCache(f *os.File) {
	syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, 4 /* POSIX_FADV_DONTNEED */, 0, 0)
}
