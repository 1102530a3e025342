package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"ip6m/store"
)

// parseFlags parses fs and handles -h; ok is false when the command should
// return code.
// parseFlagsAndFiles parses args where the file arguments may stand
// before, between or after the flags, and returns the files.
func parseFlagsAndFiles(fs *flag.FlagSet, args []string) (files []string, code int, ok bool) {
	for {
		if code, ok := parseFlags(fs, args); !ok {
			return nil, code, false
		}
		if fs.NArg() == 0 {
			return files, 0, true
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

func runDemo(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./ip6m-data", "data folder (its database must hold no inventory yet)")
	modems := fs.Int("modems", store.DefaultDemoModems, "number of cable modems")
	seed := fs.Int64("seed", 0, "random seed: the same seed gives the same network")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: ip6m demo [--modems N] [--seed S] [--data DIR]\n\nFills an empty data folder with a realistic demo network: three CMTSes,\nthe seed's v4/v6 networks, three plans, customers, modems, MTAs, CPEs.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ctx := context.Background()
	start := time.Now()
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "ip6m demo:", err)
		return 1
	}
	defer st.Close()
	res, err := st.FillDemo(ctx, store.DemoOptions{Modems: *modems, Seed: *seed})
	if err != nil {
		fmt.Fprintln(stderr, "ip6m demo:", err)
		return 1
	}
	fmt.Fprintf(stdout, "demo network in %s: %d CMTS, %d networks, %d plans, %d customers, %d modems, %d MTAs, %d CPEs (%s)\n",
		st.Path(), res.CMTS, res.Networks, res.Plans, res.Customers, res.Modems, res.MTAs, res.CPEs, time.Since(start).Round(time.Millisecond))
	return 0
}

func runBackup(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./ip6m-data", "data folder")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: ip6m backup [--data DIR] FILE\n\nWrites a consistent copy of the database to FILE (which must not exist),\nsafe while `ip6m serve` runs. Restore: stop the server, put FILE in the\ndata folder as ip6m.db (and remove ip6m.db-wal, ip6m.db-shm), start it.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// FILE may come before or after the flags.
	var file string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" {
		fs.Usage()
		return 2
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "ip6m backup:", err)
		return 1
	}
	defer st.Close()
	start := time.Now()
	if err := st.Backup(ctx, file); err != nil {
		fmt.Fprintln(stderr, "ip6m backup:", err)
		return 1
	}
	fmt.Fprintf(stdout, "backup written to %s (%s)\n", file, time.Since(start).Round(time.Millisecond))
	return 0
}

func runVersion(_ []string, _ io.Reader, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "ip6m %s (%s, %s/%s, database schema %d)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, store.SchemaVersion())
	return 0
}
