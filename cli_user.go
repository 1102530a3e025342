package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"ip6m/store"
)

// randomPassword returns 16 characters from an alphabet without look-alikes
// (about 93 bits).
func randomPassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func runUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	help := `Usage:
  ip6m user add NAME [--role admin|operator|viewer] [--password-stdin] [--data DIR]
  ip6m user passwd NAME [--password-stdin] [--data DIR]
  ip6m user list [--data DIR]

Without --password-stdin a random password is made and printed once.
With it, the first line of standard input is the password (at least 10
characters), e.g.:  printf '%s\n' "$PW" | ip6m user add alice --password-stdin
`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, help)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	fs := flag.NewFlagSet("user "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, help) }
	data := fs.String("data", "./ip6m-data", "data folder")
	role := fs.String("role", store.RoleOperator, "role of a new user: admin, operator or viewer")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	// Flags may come before or after NAME.
	rest := args[1:]
	var name string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "ip6m user:", err)
		return 1
	}
	defer st.Close()
	password := func() (string, bool) {
		if !*fromStdin {
			return randomPassword(), true
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(stderr, "ip6m user: no password on standard input")
			return "", false
		}
		return strings.TrimRight(line, "\r\n"), false
	}
	switch verb {
	case "add", "passwd":
		if name == "" {
			fmt.Fprintf(stderr, "ip6m user %s: give the user's NAME\n", verb)
			return 2
		}
		pw, generated := password()
		if pw == "" && !generated {
			return 1
		}
		if verb == "add" {
			err = st.CreateUser(ctx, "cli", &store.User{Name: name, Role: *role, Password: pw})
		} else {
			err = st.SetPassword(ctx, "cli", name, pw)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ip6m user %s: %v\n", verb, err)
			return 1
		}
		if generated {
			fmt.Fprintf(stdout, "user %s: password %s\n", name, pw)
		} else {
			fmt.Fprintf(stdout, "user %s: password set\n", name)
		}
		return 0
	case "list":
		users, err := st.ListUsers(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "ip6m user list:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tLAST LOGIN")
		for _, u := range users {
			state, last := "active", "never"
			if u.Disabled {
				state = "disabled"
			}
			if !u.LastLogin.IsZero() {
				last = u.LastLogin.Format("2006-01-02 15:04 UTC")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, state, last)
		}
		tw.Flush()
		return 0
	}
	fmt.Fprintf(stderr, "ip6m user: unknown verb %q\n\n%s", verb, help)
	return 2
}
