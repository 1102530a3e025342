package dhcpdconf

import (
	"fmt"
	"strings"
)

// Counts are numbers of inventory objects by kind.
type Counts struct {
	CMTS, Networks, Plans, Modems, MTAs, CPEs, Settings int
}

// Note is something the importer could not map, or did in a way worth
// knowing, at a place in the file. Count > 1 when the same note stands for
// many statements (Pos is the first).
type Note struct {
	Pos   Pos
	Count int
	Text  string
}

// FileUse is a config file name the hosts asked for, which ip6m replaces
// by its own names.
type FileUse struct {
	Name  string
	Kind  string // store.KindCM or KindMTA
	Hosts int
	First Pos
}

// Report says what an import did (or, dry, would do).
type Report struct {
	File   string
	DryRun bool
	// Created counts what was (dry run: would be) created; Present what the
	// inventory already held and was left as it is.
	Created, Present Counts
	// Written counts what was written before a store error (Failed).
	Written Counts
	Failed  string
	// Errors stop the import: nothing is written.
	Errors []Note
	Notes  []Note
	// Files are the config names of the hosts, once each; CMFile and
	// MTAFile are the names ip6m serves instead.
	Files           []FileUse
	CMFile, MTAFile string

	noteIdx map[string]int
}

// note adds a note, or counts one more under the same key.
func (r *Report) note(key string, pos Pos, format string, args ...any) {
	if r.noteIdx == nil {
		r.noteIdx = map[string]int{}
	}
	if i, ok := r.noteIdx[key]; ok {
		r.Notes[i].Count++
		return
	}
	r.noteIdx[key] = len(r.Notes)
	r.Notes = append(r.Notes, Note{Pos: pos, Count: 1, Text: fmt.Sprintf(format, args...)})
}

func (r *Report) done() Report {
	r.noteIdx = nil
	return *r
}

// maxFiles bounds the config names listed one by one.
const maxFiles = 20

// String is the report for people: what was created, errors, notes.
func (r Report) String() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	switch {
	case len(r.Errors) > 0:
		p("import of %s: %s, nothing was written\n", r.File, plural(len(r.Errors), "error"))
	case r.Failed != "":
		p("import of %s: stopped by the store at %s\n", r.File, r.Failed)
	case r.DryRun:
		p("import of %s: dry run, nothing was written\n", r.File)
	default:
		p("import of %s: done\n", r.File)
	}
	if len(r.Errors) == 0 {
		verb := "created"
		if r.DryRun {
			verb = "to create"
		}
		p("\n%-10s %9s %9s", "", verb, "present")
		if r.Failed != "" {
			p(" %9s", "written")
		}
		p("\n")
		rows := []struct {
			name       string
			c, pr, wri int
		}{
			{"CMTS", r.Created.CMTS, r.Present.CMTS, r.Written.CMTS},
			{"networks", r.Created.Networks, r.Present.Networks, r.Written.Networks},
			{"plans", r.Created.Plans, r.Present.Plans, r.Written.Plans},
			{"modems", r.Created.Modems, r.Present.Modems, r.Written.Modems},
			{"MTAs", r.Created.MTAs, r.Present.MTAs, r.Written.MTAs},
			{"CPEs", r.Created.CPEs, r.Present.CPEs, r.Written.CPEs},
			{"settings", r.Created.Settings, r.Present.Settings, r.Written.Settings},
		}
		for _, row := range rows {
			p("%-10s %9d %9d", row.name, row.c, row.pr)
			if r.Failed != "" {
				p(" %9d", row.wri)
			}
			p("\n")
		}
		if r.Failed != "" {
			p("\nThe store refused %s.\nEverything counted as written above is in the inventory (CMTSes, plans and networks are\nwritten before the devices that use them, so nothing refers to a missing object);\nfix the cause and run the import again: what is present is skipped.\n", r.Failed)
		}
	}
	if len(r.Errors) > 0 {
		p("\nErrors:\n")
		for _, e := range r.Errors {
			p("  %s\n", line(e))
		}
	}
	if len(r.Files) > 0 {
		p("\nConfig files named by hosts: ip6m builds each device's config from its plan and serves it\nas %s (modems) and %s (MTAs) instead of these:\n", r.CMFile, r.MTAFile)
		hosts := 0
		for i, f := range r.Files {
			hosts += f.Hosts
			if i < maxFiles {
				s := "s"
				if f.Hosts == 1 {
					s = ""
				}
				p("  %s: %q, %d %s host%s\n", f.First, f.Name, f.Hosts, kindName(f.Kind), s)
			}
		}
		if len(r.Files) > maxFiles {
			rest := 0
			for _, f := range r.Files[maxFiles:] {
				rest += f.Hosts
			}
			p("  … and %d more names (%d hosts)\n", len(r.Files)-maxFiles, rest)
		}
	}
	if len(r.Notes) > 0 {
		p("\nNotes:\n")
		for _, n := range r.Notes {
			p("  %s\n", line(n))
		}
	}
	return b.String()
}

func kindName(k string) string {
	switch k {
	case "mta":
		return "MTA"
	case "cpe":
		return "CPE"
	}
	return "modem"
}

func line(n Note) string {
	s := n.Text
	if n.Pos.File != "" {
		pos := n.Pos.String()
		if n.Pos.Line == 0 {
			pos = n.Pos.File
		}
		s = pos + ": " + s
	}
	if n.Count > 1 {
		s += fmt.Sprintf(" (%d times, the first here)", n.Count)
	}
	return s
}
