//go:build !linux

package store

import "os"

// syncData flushes f to disk (fsync where fdatasync is not to be had).
func syncData(f *os.File, held bool) error { return f.Sync() }
