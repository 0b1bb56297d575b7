package analysis

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PlotOption adjusts a plot; pass any number to the Plot functions.
type PlotOption func(*plotConfig)

type plotConfig struct {
	width, height vg.Length
	dpi           int
	lo, hi        float64
	hasRange      bool
	bins          int
	noModes       bool
}

// WithSize sets the size of the image (default 6×4.5 in, 7×6 in for
// PlotRamachandran). A raster image is width/vg.Inch·dpi pixels wide,
// rounded to the nearest pixel.
func WithSize(width, height vg.Length) PlotOption {
	return func(c *plotConfig) { c.width, c.height = width, height }
}

// WithDPI sets the resolution of raster output (default 96 dots per inch).
func WithDPI(dpi int) PlotOption { return func(c *plotConfig) { c.dpi = dpi } }

// WithRange fixes the x range of PlotHistogram instead of the range of
// the data, e.g. WithRange(-math.Pi, math.Pi) for dihedrals.
func WithRange(lo, hi float64) PlotOption {
	return func(c *plotConfig) { c.lo, c.hi, c.hasRange = lo, hi, true }
}

// WithBins sets the number of bins per axis of PlotRamachandran
// (default 72, i.e. 5° bins).
func WithBins(n int) PlotOption { return func(c *plotConfig) { c.bins = n } }

// WithoutModeBoundaries stops PlotRamachandran from drawing the
// DialanineModes boundaries and basin labels.
func WithoutModeBoundaries() PlotOption { return func(c *plotConfig) { c.noModes = true } }

func newConfig(w, h vg.Length, opts []PlotOption) (plotConfig, error) {
	c := plotConfig{width: w, height: h, dpi: vgimg.DefaultDPI, bins: 72}
	for _, o := range opts {
		o(&c)
	}
	if !(c.width > 0 && c.height > 0) || c.dpi <= 0 || c.bins < 1 {
		return c, fmt.Errorf("analysis: invalid plot size %v×%v, dpi %d or bins %d", c.width, c.height, c.dpi, c.bins)
	}
	if c.hasRange {
		if err := checkRange(c.lo, c.hi, 1); err != nil {
			return c, err
		}
	}
	return c, nil
}

// render draws with fn on a canvas of the configured size and writes it to
// path in the format given by its extension: .png, .jpg, .jpeg, .tif and
// .tiff are rasterised at the configured DPI; .svg, .pdf and .eps are
// vector graphics. The image is rendered in memory first so that a failure
// leaves no partial file, and a panic inside gonum/plot (which panics on
// some degenerate inputs) is returned as an error.
func render(cfg plotConfig, path string, fn func(dc draw.Canvas) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("analysis: drawing %s: %v", path, r)
		}
	}()
	var c vg.CanvasWriterTo
	switch ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), ".")); ext {
	case "png", "jpg", "jpeg", "tif", "tiff":
		img := vgimg.NewWith(vgimg.UseWH(cfg.width, cfg.height), vgimg.UseDPI(cfg.dpi))
		switch ext {
		case "png":
			c = vgimg.PngCanvas{Canvas: img}
		case "jpg", "jpeg":
			c = vgimg.JpegCanvas{Canvas: img}
		default:
			c = vgimg.TiffCanvas{Canvas: img}
		}
	case "svg", "pdf", "eps":
		if c, err = draw.NewFormattedCanvas(cfg.width, cfg.height, ext); err != nil {
			return err
		}
	default:
		return fmt.Errorf("analysis: cannot tell the image format of %q (use .png, .svg, .pdf, ...)", path)
	}
	if err := fn(draw.New(c)); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// Series is one distribution for PlotHistogram.
type Series struct {
	Name    string
	Values  []float64
	Weights []float64 // nil for unweighted samples
}

// PlotHistogram overlays the normalised histograms (probability densities,
// unit area over the plotted range) of several series, drawn as step
// outlines with a legend, and saves the plot to path (format from the
// extension, PNG for ".png"). All series share bins equal bins over the
// range of all values, or over WithRange(lo, hi); values outside that
// range are left out. Typical uses are dihedral distributions of two
// seeds, or energy histograms of MD data against a model.
func PlotHistogram(series []Series, bins int, xlabel, title, path string, opts ...PlotOption) error {
	cfg, err := newConfig(6*vg.Inch, 4.5*vg.Inch, opts)
	if err != nil {
		return err
	}
	if len(series) == 0 {
		return fmt.Errorf("analysis: PlotHistogram: no series: %w", ErrEmpty)
	}
	if bins < 1 {
		return fmt.Errorf("analysis: PlotHistogram: %d bins", bins)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		if len(s.Values) == 0 {
			return fmt.Errorf("analysis: PlotHistogram: series %q: %w", s.Name, ErrEmpty)
		}
		if err := checkFinite(s.Name, s.Values); err != nil {
			return err
		}
		lo, hi = math.Min(lo, floats.Min(s.Values)), math.Max(hi, floats.Max(s.Values))
	}
	if cfg.hasRange {
		lo, hi = cfg.lo, cfg.hi
	} else if lo == hi {
		lo, hi = lo-0.5, hi+0.5 // a single value: give it a unit-wide bin
	}
	width := (hi - lo) / float64(bins)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = "probability density"
	p.Legend.Top = true
	p.X.Min, p.X.Max = lo, hi
	p.Y.Min = 0
	for i, s := range series {
		counts, _, err := Histogram(s.Values, s.Weights, lo, hi, bins)
		if err != nil {
			return fmt.Errorf("analysis: PlotHistogram: series %q: %w", s.Name, err)
		}
		total := 0.0
		for _, c := range counts {
			total += c
		}
		if total == 0 {
			return fmt.Errorf("analysis: PlotHistogram: series %q has no weight inside [%g, %g]", s.Name, lo, hi)
		}
		// A closed step outline: up from 0 at lo, across each bin, down
		// to 0 at hi, so overlaid series stay readable.
		pts := make(plotter.XYs, 0, bins+3)
		pts = append(pts, plotter.XY{X: lo, Y: 0})
		for b, c := range counts {
			pts = append(pts, plotter.XY{X: lo + float64(b)*width, Y: c / (total * width)})
		}
		last := pts[len(pts)-1].Y
		pts = append(pts, plotter.XY{X: hi, Y: last}, plotter.XY{X: hi, Y: 0})
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.StepStyle = plotter.PostStep
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	return render(cfg, path, func(dc draw.Canvas) error { p.Draw(dc); return nil })
}

// LineSeries is one curve for PlotLines. If X is nil the points are
// plotted against their index 0, 1, 2, ... (handy for time series).
type LineSeries struct {
	Name string
	X, Y []float64
}

// PlotLines draws each series as a line with a legend and saves the plot
// to path (format from the extension). With logY the y axis is
// logarithmic, and every y value must then be positive. Non-finite values
// are errors rather than silently dropped points. Use it for training
// curves and time series.
func PlotLines(series []LineSeries, xlabel, ylabel, title, path string, logY bool, opts ...PlotOption) error {
	cfg, err := newConfig(6*vg.Inch, 4.5*vg.Inch, opts)
	if err != nil {
		return err
	}
	if len(series) == 0 {
		return fmt.Errorf("analysis: PlotLines: no series: %w", ErrEmpty)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	for i, s := range series {
		if len(s.Y) == 0 {
			return fmt.Errorf("analysis: PlotLines: series %q: %w", s.Name, ErrEmpty)
		}
		if s.X != nil && len(s.X) != len(s.Y) {
			return fmt.Errorf("analysis: PlotLines: series %q has %d x and %d y values: %w", s.Name, len(s.X), len(s.Y), ErrLength)
		}
		if err := checkFinite(s.Name+".X", s.X); err != nil {
			return err
		}
		if err := checkFinite(s.Name+".Y", s.Y); err != nil {
			return err
		}
		pts := make(plotter.XYs, len(s.Y))
		for k, y := range s.Y {
			if logY && y <= 0 {
				return fmt.Errorf("analysis: PlotLines: series %q has y[%d] = %v, not allowed on a log axis", s.Name, k, y)
			}
			pts[k] = plotter.XY{X: float64(k), Y: y}
			if s.X != nil {
				pts[k].X = s.X[k]
			}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	return render(cfg, path, func(dc draw.Canvas) error { p.Draw(dc); return nil })
}

// freeEnergyGrid is a plotter.GridXYZ over a square histogram.
type freeEnergyGrid struct {
	z          [][]float64 // z[i][j]: x bin i, y bin j; NaN for empty bins
	xc, yc     []float64
	zmin, zmax float64
}

func (g freeEnergyGrid) Dims() (c, r int)   { return len(g.xc), len(g.yc) }
func (g freeEnergyGrid) Z(c, r int) float64 { return g.z[c][r] }
func (g freeEnergyGrid) X(c int) float64    { return g.xc[c] }
func (g freeEnergyGrid) Y(r int) float64    { return g.yc[r] }
func (g freeEnergyGrid) Min() float64       { return g.zmin }
func (g freeEnergyGrid) Max() float64       { return g.zmax }

// viridis returns a perceptually uniform colour map (control points of
// matplotlib's viridis) reversed, so that the most populated bins
// (F = 0) are bright yellow and rare ones dark purple, leaving white for
// empty bins.
func viridis() (palette.ColorMap, error) {
	hex := []uint32{0x440154, 0x482878, 0x3e4a89, 0x31688e, 0x26828e, 0x1f9e89, 0x35b779, 0x6dcd59, 0xb4de2c, 0xfde725}
	cs := make([]color.Color, len(hex))
	for i, h := range hex {
		cs[i] = color.NRGBA{R: uint8(h >> 16), G: uint8(h >> 8), B: uint8(h), A: 255}
	}
	cm, err := moreland.NewLuminance(cs)
	if err != nil {
		return nil, err
	}
	return palette.Reverse(cm), nil
}

// degTicks labels an angle axis every 60°.
var degTicks = plot.ConstantTicks{
	{Value: -180, Label: "-180"}, {Value: -120, Label: "-120"}, {Value: -60, Label: "-60"},
	{Value: 0, Label: "0"}, {Value: 60, Label: "60"}, {Value: 120, Label: "120"}, {Value: 180, Label: "180"},
}

// PlotRamachandran draws the (φ, ψ) distribution of a dipeptide as a heat
// map of the free energy F/kT = −ln(p/p_max) over [−180°, 180°]², where p
// is the (weighted) fraction of frames per bin (72×72 bins of 5° unless
// WithBins): 0 in the most populated bin, larger for rarer ones, white for
// empty bins. A colour bar on the right gives the scale. phi and psi are
// in radians (as from Dihedral) and are wrapped into (−π, π]; weights may
// be nil. The boundaries of DialanineModes are drawn as thin dashed lines
// with the basin names, unless WithoutModeBoundaries is given.
func PlotRamachandran(phi, psi, weights []float64, title, path string, opts ...PlotOption) error {
	cfg, err := newConfig(7*vg.Inch, 6*vg.Inch, opts)
	if err != nil {
		return err
	}
	if len(phi) == 0 {
		return fmt.Errorf("analysis: PlotRamachandran: %w", ErrEmpty)
	}
	if len(phi) != len(psi) {
		return fmt.Errorf("analysis: PlotRamachandran: %d phi and %d psi values: %w", len(phi), len(psi), ErrLength)
	}
	if err := checkFinite("phi", phi); err != nil {
		return err
	}
	if err := checkFinite("psi", psi); err != nil {
		return err
	}
	x, y := make([]float64, len(phi)), make([]float64, len(psi))
	for i := range phi {
		x[i], y[i] = WrapAngle(phi[i])/deg, WrapAngle(psi[i])/deg
	}
	n := cfg.bins
	counts, _, err := Histogram2D(x, y, weights, -180, 180, -180, 180, n, n)
	if err != nil {
		return err
	}
	cmax := 0.0
	for _, col := range counts {
		cmax = math.Max(cmax, floats.Max(col))
	}
	g := freeEnergyGrid{z: counts, xc: BinCenters(-180, 180, n), yc: BinCenters(-180, 180, n)}
	for _, col := range g.z {
		for j, c := range col {
			if c > 0 {
				col[j] = -math.Log(c / cmax)
				g.zmax = math.Max(g.zmax, col[j])
			} else {
				col[j] = math.NaN()
			}
		}
	}
	if g.zmax == 0 {
		g.zmax = 1 // all weight in one bin: keep a non-empty colour range
	}
	cm, err := viridis()
	if err != nil {
		return err
	}
	cm.SetMin(0)
	cm.SetMax(g.zmax)
	heat := plotter.NewHeatMap(g, cm.Palette(256))
	heat.NaN = color.White
	heat.Rasterized = true

	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "φ (deg)"
	p.Y.Label.Text = "ψ (deg)"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -180, 180, -180, 180
	p.X.Padding, p.Y.Padding = 0, 0
	p.X.Tick.Marker, p.Y.Tick.Marker = degTicks, degTicks
	p.Add(heat)
	if !cfg.noModes {
		if err := addDialanineBoundaries(p); err != nil {
			return err
		}
	}

	bar := plot.New()
	bar.HideX()
	bar.Y.Padding = 0
	bar.Y.Label.Text = "F/kT = −ln(p/pmax)"
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})

	return render(cfg, path, func(dc draw.Canvas) error {
		barWidth := 0.9 * vg.Inch
		main := draw.Crop(dc, 0, -barWidth, 0, 0)
		p.Draw(main)
		// Align the colour bar with the data area of the heat map.
		da := p.DataCanvas(main)
		bc := draw.Crop(dc, dc.Max.X-dc.Min.X-barWidth+0.15*vg.Inch, -0.25*vg.Inch, 0, 0)
		bc.Min.Y, bc.Max.Y = da.Min.Y, da.Max.Y
		bar.Draw(bc)
		return nil
	})
}

// addDialanineBoundaries draws the DialanineModes cuts and basin names.
func addDialanineBoundaries(p *plot.Plot) error {
	type seg struct{ x0, y0, x1, y1 float64 }
	var segs []seg
	// φ cuts, full height.
	for _, f := range []float64{0, dialaninePhiRight} {
		segs = append(segs, seg{f, -180, f, 180})
	}
	// ψ = 0 crosses both sides; the ±120° cuts exist only on the φ<0 side,
	// which is φ ≤ 0 plus the wrap φ > 120°.
	segs = append(segs, seg{-180, dialaninePsiAlpha, 180, dialaninePsiAlpha})
	for _, s := range []float64{dialaninePsiBeta, dialaninePsiLow} {
		segs = append(segs, seg{-180, s, 0, s}, seg{dialaninePhiRight, s, 180, s})
	}
	for _, s := range segs {
		l, err := plotter.NewLine(plotter.XYs{{X: s.x0, Y: s.y0}, {X: s.x1, Y: s.y1}})
		if err != nil {
			return err
		}
		l.Width = vg.Points(0.6)
		l.Color = color.Gray{Y: 80}
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		p.Add(l)
	}
	lab := plotter.XYLabels{}
	for _, c := range dialanineCentres {
		lab.XYs = append(lab.XYs, plotter.XY{X: c.phi, Y: c.psi})
		lab.Labels = append(lab.Labels, c.name)
	}
	labels, err := plotter.NewLabels(lab)
	if err != nil {
		return err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Color = color.Black
		labels.TextStyle[i].XAlign = draw.XCenter
		labels.TextStyle[i].YAlign = draw.YCenter
	}
	p.Add(labels)
	return nil
}
