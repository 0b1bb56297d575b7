package plugins

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// Spec names a plugin to start.
type Spec struct {
	Name string   // how logs and errors call it; default the file name
	Path string   // the executable (a binary, or a script with a #! line)
	Args []string // arguments
	// SHA256, when not empty, is the hex SHA-256 the executable must have:
	// go-plugin refuses to start anything else.
	SHA256 string
}

func (s Spec) name() string {
	if s.Name != "" {
		return s.Name
	}
	return filepath.Base(s.Path)
}

// Host starts plugin processes and talks to them. Its zero value is ready,
// with a call time-out of DefaultTimeout and logs discarded.
type Host struct {
	// Log receives the plugins' log lines, prefixed with their names.
	Log io.Writer
	// Timeout bounds every call to a plugin; 0 means DefaultTimeout.
	Timeout time.Duration

	mu      sync.Mutex
	running []*running
}

// DefaultTimeout is how long a plugin call may take by default.
const DefaultTimeout = 60 * time.Second

// startTimeout bounds the start of a plugin process and its handshake.
const startTimeout = 30 * time.Second

type running struct {
	spec   Spec
	client *plugin.Client
	rpc    plugin.ClientProtocol
	lines  *lastLines
}

func (h *Host) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return DefaultTimeout
}

// clientPlugins are the kinds the host can dispense, per protocol version.
func clientPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {
		kindInfo:       &InfoPlugin{},
		KindForceField: &ForceFieldPlugin{},
		KindFlow:       &FlowPlugin{},
		KindLoss:       &LossPlugin{},
		KindTrainer:    &TrainerPlugin{},
	}}
}

// start launches a plugin process and performs the handshake.
func (h *Host) start(spec Spec) (*running, error) {
	if spec.Path == "" {
		return nil, fmt.Errorf("plugin %s: no path", spec.name())
	}
	if _, err := os.Stat(spec.Path); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", spec.name(), err)
	}
	r := &running{spec: spec, lines: newLastLines(spec.name(), h.Log, 40)}
	cmd := exec.Command(spec.Path, spec.Args...)
	dieWithParent(cmd)
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: clientPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Managed:          true,
		StartTimeout:     startTimeout,
		// A Go plugin's os.Stderr reaches the host through go-plugin's
		// stdio stream (SyncStderr); a plugin in another language writes
		// to the process's stderr. Both go to the log and the last lines.
		Stderr:     r.lines,
		SyncStderr: r.lines,
		SyncStdout: r.lines,
		// The plugin's own lines reach the log through Stderr; go-plugin's
		// logger would repeat them.
		Logger: hclog.New(&hclog.LoggerOptions{Name: "go-plugin", Output: io.Discard, Level: hclog.Off}),
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
			grpc.WithUnaryInterceptor(h.deadline),
			grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(window),
			grpc.WithWriteBufferSize(1 << 20), grpc.WithReadBufferSize(1 << 20),
		},
	}
	if spec.SHA256 != "" {
		sum, err := hex.DecodeString(spec.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("plugin %s: sha256 %q is not 64 hexadecimal digits", spec.name(), spec.SHA256)
		}
		cfg.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	r.client = plugin.NewClient(cfg)
	rpc, err := r.client.Client()
	if err != nil {
		r.client.Kill()
		return nil, r.explain("start", err)
	}
	r.rpc = rpc
	h.mu.Lock()
	h.running = append(h.running, r)
	h.mu.Unlock()
	return r, nil
}

// deadline gives every call without an earlier deadline the host's
// time-out, so that a plugin that hangs ends in an error.
func (h *Host) deadline(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.timeout())
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// explain turns a failure into an error naming the plugin and the call,
// saying whether the process died or hung, with its last lines.
func (r *running) explain(call string, err error) error {
	if status.Code(err) == codes.Unavailable && r.client != nil {
		// A crash breaks the connection before the process is reaped and
		// its last lines drained: wait a moment to say which it was.
		for deadline := time.Now().Add(time.Second); !r.client.Exited() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	var what string
	text := strings.ToLower(err.Error())
	switch {
	case err == nil:
		return nil
	case strings.Contains(text, "incompatible api version"):
		what = fmt.Sprintf("the plugin speaks another protocol version (this mdrun speaks version %d)", ProtocolVersion)
	case strings.Contains(text, "checksums did not match"):
		what = "the executable's SHA-256 differs from the one in the config"
	case r.client != nil && r.client.Exited():
		what = "the plugin process exited"
	case status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
		what = "the plugin did not answer in time"
	case status.Code(err) == codes.Unavailable:
		what = "the connection to the plugin broke"
	}
	msg := fmt.Sprintf("plugin %s (%s), %s: %v", r.spec.name(), r.spec.Path, call, err)
	if what != "" {
		msg += "; " + what
	}
	if tail := r.lines.tail(); tail != "" {
		msg += "; its last lines:\n" + tail
	}
	return &Error{Plugin: r.spec.name(), Call: call, msg: msg, err: err}
}

// Error is a plugin failure.
type Error struct {
	Plugin string
	Call   string
	msg    string
	err    error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// RemoteForceField is a forcefield plugin seen as a forcefields.Model.
type RemoteForceField struct {
	remoteModel
	Spec Spec
}

// Masses returns the masses per coordinate the plugin reported, or nil.
func (r *RemoteForceField) Masses() []float64 { return r.remoteModel.Masses() }

// ForceField starts a forcefield plugin and configures it with options.
func (h *Host) ForceField(ctx context.Context, spec Spec, options map[string]string) (*RemoteForceField, error) {
	r, err := h.start(spec)
	if err != nil {
		return nil, err
	}
	raw, err := r.rpc.Dispense(KindForceField)
	if err != nil {
		return nil, r.explain("dispense forcefield", err)
	}
	conn, ok := raw.(*forceFieldConn)
	if !ok {
		return nil, r.explain("dispense forcefield", fmt.Errorf("unexpected client %T", raw))
	}
	info, err := conn.client.Configure(ctx, &pluginpb.ConfigureRequest{Options: options})
	if err != nil {
		return nil, r.explain("Configure", err)
	}
	if info.GetDim() < 1 {
		return nil, r.explain("Configure", fmt.Errorf("the plugin reports dimension %d", info.GetDim()))
	}
	return &RemoteForceField{remoteModel: remoteModel{client: conn.client, info: info, wrap: r.explain}, Spec: spec}, nil
}

// Describe starts a plugin, asks what it is and stops it.
func (h *Host) Describe(ctx context.Context, spec Spec) (*pluginpb.PluginInfo, error) {
	r, err := h.start(spec)
	if err != nil {
		return nil, err
	}
	defer h.stop(r)
	raw, err := r.rpc.Dispense(kindInfo)
	if err != nil {
		return nil, r.explain("dispense info", err)
	}
	info, err := raw.(pluginpb.InfoClient).Describe(ctx, &pluginpb.Empty{})
	if err != nil {
		return nil, r.explain("Describe", err)
	}
	return info, nil
}

func (h *Host) stop(r *running) {
	r.client.Kill()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, x := range h.running {
		if x == r {
			h.running = append(h.running[:i], h.running[i+1:]...)
			break
		}
	}
}

// Close ends every plugin process the host started.
func (h *Host) Close() {
	h.mu.Lock()
	rs := h.running
	h.running = nil
	h.mu.Unlock()
	for _, r := range rs {
		r.client.Kill()
	}
}

// Discover lists the plugins in a folder: executable files whose names
// start with "flowmd-".
func Discover(dir string) ([]Spec, error) {
	paths, err := plugin.Discover("flowmd-*", dir)
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []Spec
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			continue
		}
		out = append(out, Spec{Path: p})
	}
	return out, nil
}

// FileSHA256 returns the hex SHA-256 of a file, as Spec.SHA256 wants it.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// lastLines forwards a plugin's stderr to the host's log, line by line and
// prefixed with the plugin's name (JSON log lines are shown as message and
// fields), and keeps the last ones for error messages.
type lastLines struct {
	name string
	out  io.Writer
	mu   sync.Mutex
	buf  []byte
	keep []string
	max  int
}

func newLastLines(name string, out io.Writer, max int) *lastLines {
	return &lastLines{name: name, out: out, max: max}
}

func (l *lastLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		line := readableLogLine(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
		if line == "" {
			continue
		}
		l.keep = append(l.keep, line)
		if len(l.keep) > l.max {
			l.keep = l.keep[1:]
		}
		if l.out != nil {
			fmt.Fprintf(l.out, "[plugin %s] %s\n", l.name, line)
		}
	}
	return len(p), nil
}

func (l *lastLines) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keep) == 0 {
		return ""
	}
	return "  " + strings.Join(l.keep, "\n  ")
}

// readableLogLine shows an hclog JSON line as "level: message key=value".
func readableLogLine(s string) string {
	s = strings.TrimRight(s, "\r ")
	if !strings.HasPrefix(s, "{") {
		return s
	}
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		return s
	}
	msg, _ := m["@message"].(string)
	level, _ := m["@level"].(string)
	var keys []string
	for k := range m {
		if !strings.HasPrefix(k, "@") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	if level != "" && level != "info" {
		b.WriteString(level + ": ")
	}
	b.WriteString(msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, m[k])
	}
	return b.String()
}
