//go:build !linux

package tsdb

import "os"

func diskBytes(fi os.FileInfo) int64 { return fi.Size() }
