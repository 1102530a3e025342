package docsiscfg

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/template"
)

// Vars are the per-modem values a service plan template is rendered with.
type Vars struct {
	MAC      string   // the modem's MAC address
	Customer string   // customer name or id
	MaxCPE   int      // number of CPEs allowed
	CPEMACs  []string // CPE MAC addresses (TLV 14)
	FixedIPs []string // fixed CPE addresses (TLV 36 / 67)
	DownBps  uint64   // downstream rate, bit/s
	UpBps    uint64   // upstream rate, bit/s
	// Plan holds any other key/value the plan defines.
	Plan map[string]string
}

// Template is a parsed service plan: config text with text/template
// actions, compiled per modem with Compile. It is safe for concurrent use.
type Template struct {
	plan string
	tmpl *template.Template
	bufs sync.Pool
}

// templateFuncs returns the helpers a plan can use.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		// quote makes a config string literal: "..." with \" for quotes.
		"quote": func(s string) string {
			return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
		},
		// join joins a list, e.g. {{join .FixedIPs ","}}.
		"join": strings.Join,
	}
}

// ParseTemplate parses a service plan template. Errors name the plan and
// the template line.
func ParseTemplate(plan, text string) (*Template, error) {
	t, err := template.New(plan).Funcs(templateFuncs()).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", plan, err)
	}
	return &Template{plan: plan, tmpl: t}, nil
}

// Render executes the template for one modem and returns the config text.
func (t *Template) Render(vars Vars) ([]byte, error) {
	var b bytes.Buffer
	if err := t.tmpl.Execute(&b, vars); err != nil {
		return nil, fmt.Errorf("plan %s: %w", t.plan, err)
	}
	return b.Bytes(), nil
}

// Compile renders the template for one modem and encodes it as a CM file
// with key (or as an MTA file when the text starts with MtaConfigDelimiter).
func (t *Template) Compile(vars Vars, key []byte) ([]byte, error) {
	return t.Encode(vars, Options{Key: key})
}

// Encode renders the template for one modem and encodes it with opts. An
// error in the rendered text names the plan, the line and the line's text.
func (t *Template) Encode(vars Vars, opts Options) ([]byte, error) {
	b, _ := t.bufs.Get().(*bytes.Buffer)
	if b == nil {
		b = new(bytes.Buffer)
	}
	defer func() {
		b.Reset()
		t.bufs.Put(b)
	}()
	if err := t.tmpl.Execute(b, vars); err != nil {
		return nil, fmt.Errorf("plan %s: %w", t.plan, err)
	}
	out, err := Encode(b.Bytes(), opts)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("plan %s: rendered line %d (%q): %w", t.plan, se.Line, lineOf(b.Bytes(), se.Line), err)
		}
		return nil, fmt.Errorf("plan %s: %w", t.plan, err)
	}
	return out, nil
}

func lineOf(text []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(text, '\n')
		if j < 0 {
			return ""
		}
		text = text[j+1:]
	}
	if j := bytes.IndexByte(text, '\n'); j >= 0 {
		text = text[:j]
	}
	return strings.TrimSpace(string(text))
}

// Compile parses a plan template, renders it for one modem and encodes it
// as a CM file with key. Callers that compile a plan often should keep the
// *Template from ParseTemplate instead.
func Compile(plan, text string, vars Vars, key []byte) ([]byte, error) {
	t, err := ParseTemplate(plan, text)
	if err != nil {
		return nil, err
	}
	return t.Compile(vars, key)
}

// Compiler compiles plans for many modems, keeping each parsed plan
// template so that only the first compile of a plan text parses it. It is
// safe for concurrent use; the zero value is ready to use.
type Compiler struct {
	mu    sync.Mutex
	plans map[string]compiledPlan
}

type compiledPlan struct {
	text string
	tmpl *Template
}

// Compile is the package function Compile with the parsed template of plan
// kept until the plan's text changes.
func (c *Compiler) Compile(plan, text string, vars Vars, key []byte) ([]byte, error) {
	c.mu.Lock()
	p, ok := c.plans[plan]
	c.mu.Unlock()
	if !ok || p.text != text {
		t, err := ParseTemplate(plan, text)
		if err != nil {
			return nil, err
		}
		p = compiledPlan{text: text, tmpl: t}
		c.mu.Lock()
		if c.plans == nil {
			c.plans = make(map[string]compiledPlan)
		}
		c.plans[plan] = p
		c.mu.Unlock()
	}
	return p.tmpl.Compile(vars, key)
}

// Forget drops the parsed template of plan, e.g. when the plan is deleted.
func (c *Compiler) Forget(plan string) {
	c.mu.Lock()
	delete(c.plans, plan)
	c.mu.Unlock()
}
