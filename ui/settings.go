package ui

import (
	"net/http"
	"net/netip"
	"strings"

	"ip6m/dhcp"
)

// setting is one server-wide value the settings page edits.
type setting struct {
	key, label, help, def string
	check                 func(string) string // "" when valid, else the message
	secret                bool                // shown as a password field
}

func ipv4Check(v string) string {
	if v == "" {
		return ""
	}
	if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
		return "is not an IPv4 address"
	}
	return ""
}

func ipv6Check(v string) string {
	if v == "" {
		return ""
	}
	if a, err := netip.ParseAddr(v); err != nil || !a.Is6() || a.Is4In6() {
		return "is not an IPv6 address"
	}
	return ""
}

func patternCheck(v string) string {
	switch {
	case v == "":
		return ""
	case !strings.Contains(v, "{mac}"):
		return "must contain {mac}, so each device has its own name"
	case strings.HasPrefix(v, "/") || strings.Contains(v, ".."):
		return "must be a relative name without .."
	}
	return ""
}

func communityCheck(v string) string {
	if len(v) > 64 || strings.ContainsAny(v, " \t") {
		return "must be at most 64 characters without spaces"
	}
	return ""
}

var settings = []setting{
	{dhcp.SettingServerIPv4, "Server IPv4 address", "the DHCP server identifier (option 54) the modems see; empty: the address each request arrived on", "", ipv4Check, false},
	{dhcp.SettingServerIPv6, "Server IPv6 address", "this server's address as DHCPv6 clients and the TFTP/time options see it", "", ipv6Check, false},
	{dhcp.SettingTFTPIPv4, "TFTP server IPv4", "siaddr for modems and MTAs; empty: the server address", "", ipv4Check, false},
	{dhcp.SettingTFTPIPv6, "TFTP server IPv6", "CableLabs sub-option 32 for v6 modems; empty: the server's IPv6 address", "", ipv6Check, false},
	{dhcp.SettingCMFile, "Modem config name", "the file name handed to each modem; {mac} is its 12 hex digits", dhcp.DefaultCMFile, patternCheck, false},
	{dhcp.SettingMTAFile, "MTA config name", "the file name handed to each MTA", dhcp.DefaultMTAFile, patternCheck, false},
	{dhcp.SettingWalledFile, "Walled-garden config name", "what unknown or disabled modems get on walled-garden networks (NetworkAccess 0)", dhcp.DefaultWalledFile, func(v string) string {
		if strings.HasPrefix(v, "/") || strings.Contains(v, "..") {
			return "must be a relative name without .."
		}
		return ""
	}, false},
	{"snmp.community", "Modem SNMP read community", "what the poller uses for modems (CMTSes have their own)", "public", communityCheck, false},
	{"snmp.write_community", "Modem SNMP write community", "for resets (docsDevResetNow); must match docsDevNmAccess in the modems' configs", "private", communityCheck, true},
	{dhcp.SettingPktcRealm, "PacketCable Kerberos realm", "option 122.6, e.g. BASIC.1 as in the seed", "BASIC.1", func(v string) string {
		if len(v) > 200 {
			return "is too long"
		}
		return ""
	}, false},
	{dhcp.SettingPktcProv, "PacketCable provisioning server", "option 122.3 and v6 2171.3: an IPv4 or IPv6 address or a name; empty: this server", "", func(v string) string {
		if strings.ContainsAny(v, " \t\"") {
			return "must be an address or a host name"
		}
		return ""
	}, false},
	{dhcp.SettingPktcASBackoff, "PacketCable AS-REQ backoff", "options 122.4 and 2171.4: nominal timeout ms, maximum timeout s, maximum retries, e.g. 1000,30,5; empty: not sent", "", errText(dhcp.CheckBackoff), false},
	{dhcp.SettingPktcAPBackoff, "PacketCable AP-REQ backoff", "options 122.5 and 2171.5, as above; empty: not sent", "", errText(dhcp.CheckBackoff), false},
	{dhcp.SettingPktcProvTimer, "PacketCable provisioning timer", "options 122.8 and 2171.8: minutes, 0 to 30; empty: not sent", "", errText(dhcp.CheckProvTimer), false},
}

// errText turns a validation error into the field's message.
func errText(check func(string) error) func(string) string {
	return func(v string) string {
		if err := check(v); err != nil {
			return "is not valid: " + err.Error()
		}
		return ""
	}
}

func (s *Server) settingsFields(r *http.Request, values, errs map[string]string) []field {
	var out []field
	for _, st := range settings {
		f := field{Name: st.key, Label: st.label, Value: values[st.key], Help: st.help, Error: errs[st.key], Mono: true}
		if st.secret {
			f.Type = "password"
		}
		out = append(out, f)
	}
	return out
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	values := map[string]string{}
	for _, st := range settings {
		v, err := s.st.Setting(r.Context(), st.key, st.def)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		values[st.key] = v
	}
	s.showSettings(w, r, values, nil, http.StatusOK)
}

func (s *Server) showSettings(w http.ResponseWriter, r *http.Request, values, errs map[string]string, status int) {
	p := s.page(r, "Settings", "/settings")
	fv := formView{Heading: "Settings", Action: "/settings", Fields: s.settingsFields(r, values, errs), Submit: "Save settings", Cancel: "/"}
	if len(errs) > 0 {
		fv.Error = "Please correct the fields marked below; nothing was saved."
	}
	w.WriteHeader(status)
	s.render(w, r, formPage(p, fv))
}

func (s *Server) settingsSave(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	values, errs := map[string]string{}, map[string]string{}
	for _, st := range settings {
		v := strings.TrimSpace(r.PostFormValue(st.key))
		values[st.key] = v
		if msg := st.check(v); msg != "" {
			errs[st.key] = msg
		}
	}
	if len(errs) > 0 {
		s.showSettings(w, r, values, errs, http.StatusUnprocessableEntity)
		return
	}
	sess, _ := sessionFrom(r.Context())
	if err := s.st.SetSettings(r.Context(), sess.User.Name, values); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("settings saved", "user", sess.User.Name)
	http.Redirect(w, r, withFlash("/settings", "Settings saved; the services use them within a second."), http.StatusSeeOther)
}
