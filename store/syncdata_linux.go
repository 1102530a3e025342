package store

import (
	"os"
	"syscall"
)

// syncData flushes f's data to disk, and its metadata only where reading
// the data back needs it (fdatasync): not its times.
func syncData(f *os.File) error {
	c, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := c.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	return serr
}
