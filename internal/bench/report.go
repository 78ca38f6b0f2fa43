package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// WriteHTML writes r as one self-contained HTML page: inline CSS and SVG,
// no scripts, fonts or images from anywhere else, so it can be mailed or
// archived and still show the same thing. It plots throughput over time
// and, when latencies were measured, the latency percentile curve.
func (r *Result) WriteHTML(w io.Writer) error {
	var keys []string
	for k := range r.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cfg []kv
	for _, k := range keys {
		cfg = append(cfg, kv{k, fmt.Sprint(r.Config[k])})
	}
	data := struct {
		R          *Result
		Config     []kv
		Throughput template.HTML
		Curve      template.HTML
		Generated  string
	}{R: r, Config: cfg, Throughput: throughputSVG(r.Samples), Curve: curveSVG(r.Curve),
		Generated: time.Now().UTC().Format(time.RFC3339)}
	return reportTmpl.Execute(w, data)
}

type kv struct{ K, V string }

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"f": func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"n": func(v float64) string { return fmt.Sprintf("%.0f", v) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>strata bench {{.R.Mode}} {{.R.Topic}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f4f4f4}svg{background:#fff;border:1px solid #ddd}
svg text{font-size:11px;fill:#444}.line{fill:none;stroke:#1f6feb;stroke-width:2}
.grid{stroke:#eee}.axis{stroke:#999}.pt{fill:#1f6feb}
</style></head><body>
<h1>strata bench {{.R.Mode}}</h1>
<p>Topic <b>{{.R.Topic}}</b> ({{.R.Partitions}} partition{{if ne .R.Partitions 1}}s{{end}}); generated {{.Generated}}.</p>
<table>
<tr><th>records</th><td>{{.R.Records}}</td></tr>
<tr><th>bytes</th><td>{{.R.Bytes}}</td></tr>
<tr><th>elapsed</th><td>{{f .R.ElapsedSec}} s</td></tr>
<tr><th>throughput</th><td>{{n .R.RecordsPerSec}} records/s, {{f .R.MBPerSec}} MB/s</td></tr>
<tr><th>failed records</th><td>{{.R.Errors}}</td></tr>
{{with .R.Latency}}<tr><th>{{.Kind}} latency (ms)</th><td>p50 {{f .P50}} · p90 {{f .P90}} · p99 {{f .P99}} · p99.9 {{f .P999}} · max {{f .Max}} (mean {{f .Mean}}, {{.Count}} samples)</td></tr>{{end}}
</table>
<h2>Throughput over time</h2>
{{.Throughput}}
{{if .Curve}}<h2>Latency by percentile</h2>
{{.Curve}}{{end}}
<h2>Settings</h2>
<table>{{range .Config}}<tr><th>{{.K}}</th><td>{{.V}}</td></tr>{{end}}</table>
</body></html>
`))

// chart geometry, in SVG user units.
const (
	chartW, chartH = 720.0, 300.0
	padL, padR     = 70.0, 20.0
	padT, padB     = 15.0, 40.0
)

type pt struct{ x, y float64 }

// throughputSVG plots records/s per sampling interval against elapsed
// seconds.
func throughputSVG(samples []Sample) template.HTML {
	pts := throughputPoints(samples)
	if len(pts) == 0 {
		return "<p>No samples.</p>"
	}
	maxX, maxY := pts[len(pts)-1].x, 0.0
	for _, p := range pts {
		maxY = max(maxY, p.y)
	}
	return lineChart(pts, 0, maxX, niceCeil(maxY), func(x float64) float64 { return x },
		"elapsed (s)", "records/s", func(x float64) string { return fmt.Sprintf("%.3g", x) }, humanCount)
}

// throughputPoints turns cumulative samples into (elapsed s, records/s)
// over each interval.
//
// NB: the final sample is taken when the run ends, usually a fraction of
// an interval after the one before; a rate over that sliver is noise, so
// a short last interval is merged into the one before it.
func throughputPoints(samples []Sample) []pt {
	if len(samples) < 2 {
		return nil
	}
	var pts []pt
	interval := (samples[1].Elapsed - samples[0].Elapsed).Seconds()
	prev := 0
	for i := 1; i < len(samples); i++ {
		dt := (samples[i].Elapsed - samples[prev].Elapsed).Seconds()
		if dt <= 0 {
			continue
		}
		if i == len(samples)-1 && dt < interval/2 && len(pts) > 0 {
			pts = pts[:len(pts)-1]
			prev = i - 2
			dt = (samples[i].Elapsed - samples[prev].Elapsed).Seconds()
		}
		pts = append(pts, pt{samples[i].Elapsed.Seconds(), float64(samples[i].Records-samples[prev].Records) / dt})
		prev = i
	}
	return pts
}

// curveSVG plots latency against percentile, the x axis scaled as
// log10(1/(1-p)) so the tail gets room: 0, 90, 99, 99.9, … are equally
// spaced.
func curveSVG(curve []CurvePoint) template.HTML {
	if len(curve) == 0 {
		return ""
	}
	const maxNines = 5.0 // 99.999
	xOf := func(p float64) float64 {
		if p >= 100 {
			return maxNines
		}
		return min(math.Log10(100/(100-p)), maxNines)
	}
	var pts []pt
	maxY := 0.0
	for _, c := range curve {
		pts = append(pts, pt{c.Percentile, c.Ms})
		maxY = max(maxY, c.Ms)
	}
	label := func(nines float64) string {
		return trimFloat(100-100/math.Pow(10, nines)) + "%"
	}
	return lineChart(pts, 0, maxNines, niceCeil(maxY), xOf, "percentile", "latency (ms)", label,
		func(v float64) string { return trimFloat(v) })
}

// lineChart draws pts (x mapped through xf) on [minX,maxX]×[0,maxY].
func lineChart(pts []pt, minX, maxX, maxY float64, xf func(float64) float64, xName, yName string,
	xLabel func(float64) string, yLabel func(float64) string) template.HTML {
	if maxX <= minX {
		maxX = minX + 1
	}
	if maxY <= 0 {
		maxY = 1
	}
	sx := func(x float64) float64 { return padL + (x-minX)/(maxX-minX)*(chartW-padL-padR) }
	sy := func(y float64) float64 { return chartH - padB - y/maxY*(chartH-padT-padB) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img">`, chartW, chartH, chartW, chartH)
	for i := 0; i <= 5; i++ {
		y := maxY * float64(i) / 5
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, sy(y), sy(y))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL-6, sy(y)+4, template.HTMLEscapeString(yLabel(y)))
	}
	for i := 0; i <= 5; i++ {
		x := minX + (maxX-minX)*float64(i)/5
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, sx(x), chartH-padB+16, template.HTMLEscapeString(xLabel(x)))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, sy(0), sy(0))
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, padL, padL, padT, sy(0))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, (padL+chartW-padR)/2, chartH-6, xName)
	fmt.Fprintf(&b, `<text x="12" y="%.1f" text-anchor="middle" transform="rotate(-90 12 %.1f)">%s</text>`, chartH/2, chartH/2, yName)
	b.WriteString(`<polyline class="line" points="`)
	for _, p := range pts {
		fmt.Fprintf(&b, "%.1f,%.1f ", sx(xf(p.x)), sy(p.y))
	}
	b.WriteString(`"/>`)
	for _, p := range pts {
		fmt.Fprintf(&b, `<circle class="pt" cx="%.1f" cy="%.1f" r="2"><title>%s: %s</title></circle>`,
			sx(xf(p.x)), sy(p.y), template.HTMLEscapeString(trimFloat(p.x)), template.HTMLEscapeString(trimFloat(p.y)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.4f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
