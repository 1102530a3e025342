package ui

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"time"

	"ip6m/snmp"
	"ip6m/tsdb"
)

// SeriesSource answers a graph's question: one metric of one device over a
// time range, at most maxPoints points; *tsdb.DB implements it.
type SeriesSource interface {
	Query(device, metric string, from, to time.Time, maxPoints int) (tsdb.Series, error)
}

// graphMetric is one chart of the modem page: the metric, its unit, how
// stored values become shown ones, and the good/warning bands behind it.
type graphMetric struct {
	Metric string  `json:"metric"`
	Title  string  `json:"title"`
	Unit   string  `json:"unit"`
	Scale  float64 `json:"-"`
	Band   *band   `json:"band,omitempty"`
}

// band is snmp.Band with infinities as nulls (JSON has no infinity).
type band struct {
	GoodMin, GoodMax, WarnMin, WarnMax *float64
}

func bandOf(b snmp.Band) *band {
	f := func(v float64) *float64 {
		if math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return &band{f(b.GoodMin), f(b.GoodMax), f(b.WarnMin), f(b.WarnMax)}
}

// modemGraphs are the charts of a modem, in page order.
func modemGraphs() []graphMetric {
	th := snmp.DefaultThresholds()
	return []graphMetric{
		{Metric: "dspwr", Title: "Downstream power", Unit: "dBmV", Scale: 1, Band: bandOf(th.DsPower)},
		{Metric: "dssnr", Title: "Downstream SNR", Unit: "dB", Scale: 1, Band: bandOf(th.DsSNR)},
		{Metric: "uspwr", Title: "Upstream transmit power", Unit: "dBmV", Scale: 1, Band: bandOf(th.UsTx)},
		{Metric: "ussnr", Title: "Upstream SNR at the CMTS", Unit: "dB", Scale: 1, Band: bandOf(th.UsSNR)},
		{Metric: "in", Title: "Traffic in", Unit: "Mbit/s", Scale: 8e-6},
		{Metric: "out", Title: "Traffic out", Unit: "Mbit/s", Scale: 8e-6},
		{Metric: "uncorrected", Title: "Uncorrectable codewords", Unit: "/s", Scale: 1},
	}
}

// graphRanges are the buttons over the charts.
var graphRanges = map[string]time.Duration{"hour": time.Hour, "day": 24 * time.Hour, "month": 30 * 24 * time.Hour, "year": 365 * 24 * time.Hour}

// seriesJSON is one chart's data: times (unix seconds) and min/avg/max
// (null where there is no data).
type seriesJSON struct {
	graphMetric
	Time []int64    `json:"t"`
	Min  []*float64 `json:"min"`
	Avg  []*float64 `json:"avg"`
	Max  []*float64 `json:"max"`
}

// modemSeries answers GET /modems/{id}/series?range=day with every chart
// of the modem, for the page's uPlot graphs.
func (s *Server) modemSeries(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	m, err := s.st.GetModem(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	span, ok := graphRanges[r.URL.Query().Get("range")]
	if !ok {
		span = graphRanges["day"]
	}
	out := []seriesJSON{}
	if s.cfg.Series != nil {
		to := time.Now()
		if out, err = s.modemSeriesOf(m.MAC, modemGraphs(), to.Add(-span), to, 600); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(out)
}

// modemSeriesOf reads graphs of device mac over [from, to) from the
// time-series store (which must be set), at most points points each, in
// the graphs' units; a metric the device has no data for is left out.
func (s *Server) modemSeriesOf(mac string, graphs []graphMetric, from, to time.Time, points int) ([]seriesJSON, error) {
	out := []seriesJSON{}
	for _, g := range graphs {
		sr, err := s.cfg.Series.Query(mac, g.Metric, from, to, points)
		if errors.Is(err, tsdb.ErrUnknownDevice) || errors.Is(err, tsdb.ErrUnknownMetric) {
			continue
		}
		if err != nil {
			return nil, err
		}
		js := seriesJSON{graphMetric: g, Time: []int64{}, Min: []*float64{}, Avg: []*float64{}, Max: []*float64{}}
		for i := range sr.Len() {
			js.Time = append(js.Time, sr.Time(i).Unix())
			js.Min = append(js.Min, scaled(sr.Min[i], g.Scale))
			js.Avg = append(js.Avg, scaled(sr.Avg[i], g.Scale))
			js.Max = append(js.Max, scaled(sr.Max[i], g.Scale))
		}
		out = append(out, js)
	}
	return out, nil
}

func scaled(v, k float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	v *= k
	return &v
}
