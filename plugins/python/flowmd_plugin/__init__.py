"""Write flowmd plugins in Python.

mdrun starts plugins as processes and talks to them with gRPC through
hashicorp/go-plugin. This module does what go-plugin's Go side does for a Go
plugin: it checks the magic cookie, agrees on the protocol version, sets up
mutual TLS with the certificate mdrun passes (AutoMTLS), registers the gRPC
health service go-plugin checks, prints the handshake line, and serves until
mdrun ends the plugin.

A force field plugin is one function, configure(options) -> ForceField:

    import numpy as np
    import flowmd_plugin

    class Oscillator(flowmd_plugin.ForceField):
        dim = 2
        terms = ["harmonic"]

        def evaluate(self, x):              # x: [batch, dim] float64
            energy = 0.5 * (x ** 2).sum(axis=1)
            return energy, -x, energy[:, None]

    flowmd_plugin.serve_forcefield("oscillator", lambda options: Oscillator())

Needs Debian's python3-grpcio, python3-protobuf, python3-numpy and
python3-cryptography (or the same modules from pip).
"""

import base64
import datetime
import mmap
import os
import signal
import sys
import tempfile
import threading
from concurrent import futures

import grpc
import numpy as np

from .proto import plugin_pb2, plugin_pb2_grpc

__all__ = ["ForceField", "serve_forcefield", "Loss", "serve_loss", "array", "values", "log"]

# Must match plugins.Handshake and plugins.ProtocolVersion on the Go side.
MAGIC_COOKIE_KEY = "FLOWMD_PLUGIN"
MAGIC_COOKIE_VALUE = "3f1c8a8e2b6d4e07a9c5d1f0b7e6a2c4"
PROTOCOL_VERSION = 1
CORE_PROTOCOL_VERSION = 1  # go-plugin's own


def log(message, **fields):
    """Write a log line that mdrun shows under the plugin's name."""
    extra = "".join(" %s=%s" % (k, v) for k, v in sorted(fields.items()))
    print(message + extra, file=sys.stderr, flush=True)


def array(values):
    """Pack a NumPy array into the protocol's Array (little-endian float64)."""
    v = np.ascontiguousarray(values, dtype="<f8")
    return plugin_pb2.Array(shape=list(v.shape), data=v.tobytes())


def values(a):
    """Unpack a protocol Array into a NumPy array of its shape."""
    shape = tuple(a.shape)
    out = np.frombuffer(a.data, dtype="<f8")
    if out.size != int(np.prod(shape)):
        raise ValueError("array of shape %s holds %d values" % (shape, out.size))
    return out.reshape(shape)


class ForceField:
    """A batched energy model. Subclasses set dim and terms and implement
    evaluate; masses (per coordinate, amu) and units ("md" or "reduced")
    are optional."""

    dim = 0
    terms = []
    masses = []
    units = "reduced"

    def evaluate(self, x):
        """Return (energy [B], forces [B, dim], terms [B, len(terms)]) for
        configurations x [B, dim]; forces are minus the gradient."""
        raise NotImplementedError


class _ForceFieldServicer(plugin_pb2_grpc.ForceFieldServicer):
    def __init__(self, info, configure):
        self.info = info
        self.configure = configure
        self.model = None
        self.shared = None  # the host's shared region (mmap), after Attach
        self.lock = threading.Lock()

    def Attach(self, request, context):
        # Map the host's region: batches then arrive and leave as one
        # memory copy instead of passing through gRPC's buffers.
        with open(request.path, "r+b") as f:
            region = mmap.mmap(f.fileno(), request.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        with self.lock:
            old, self.shared = self.shared, region
        if old is not None:
            old.close()
        return plugin_pb2.Empty()

    def _view(self, offset, count):
        return np.frombuffer(self.shared, dtype="<f8", count=count, offset=offset)

    def _describe(self, context):
        m = self.model
        if m is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the force field is not configured: call Configure first")
        return plugin_pb2.ForceFieldInfo(plugin=self.info, dim=m.dim, terms=list(m.terms),
                                         masses=list(m.masses), units=m.units)

    def Describe(self, request, context):
        with self.lock:
            return self._describe(context)

    def Configure(self, request, context):
        try:
            model = self.configure(dict(request.options))
        except Exception as e:  # the host shows the message to the user
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        with self.lock:
            self.model = model
            return self._describe(context)

    def Evaluate(self, request, context):
        m = self.model
        if m is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the force field is not configured: call Configure first")
        if request.HasField("shared"):
            return self._evaluate_shared(request, context, m)
        x = values(request.coords)
        if x.ndim != 2 or x.shape[1] != m.dim:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "coords of shape %s, expected [batch, %d]" % (x.shape, m.dim))
        if not np.all(np.isfinite(x)):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "coordinates must be finite")
        energy, forces, terms = m.evaluate(x)
        resp = plugin_pb2.EvaluateResponse(energy=array(energy))
        if request.forces:
            resp.forces.CopyFrom(array(forces))
        if request.terms:
            resp.terms.CopyFrom(array(np.reshape(terms, (x.shape[0], len(m.terms)))))
        return resp


    def _evaluate_shared(self, request, context, m):
        if self.shared is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no shared region: call Attach first")
        sb = request.shared
        n, d, nt = sb.batch, m.dim, len(m.terms)
        x = self._view(sb.coords_offset, n * d).reshape(n, d)
        if not np.all(np.isfinite(x)):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "coordinates must be finite")
        energy, forces, terms = m.evaluate(x)
        out = sb.output_offset
        self._view(out, n)[:] = energy
        out += 8 * n
        if request.forces:
            self._view(out, n * d)[:] = np.reshape(forces, -1)
            out += 8 * n * d
        if request.terms:
            self._view(out, n * nt)[:] = np.reshape(terms, -1)
        return plugin_pb2.EvaluateResponse(shared=True)


class Loss:
    """A training loss over per-sample numbers. Subclasses set name, the
    inputs they read ("beta_u", "log_p_g", "log_q_n", "coords", ...), where
    their samples come from ("model_reparameterized", "model_detached" or
    "data") and whether they need forces, and implement evaluate."""

    name = ""
    inputs = []
    samples = []
    needs_forces = False
    needs_coordinates = False
    stateful = False

    def evaluate(self, inputs):
        """Return (value, gradients, metrics) for a dict of 1-D NumPy
        arrays: gradients maps each input read to the derivative of the
        value with respect to it (same shape), metrics maps names to
        numbers for the trainer's log."""
        raise NotImplementedError


class _LossServicer(plugin_pb2_grpc.LossServicer):
    def __init__(self, info, configure):
        self.info = info
        self.configure = configure
        self.loss = None
        self.lock = threading.Lock()

    def _describe(self, context):
        l = self.loss
        if l is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the loss is not configured: call Configure first")
        return plugin_pb2.LossInfo(plugin=self.info, name=l.name, inputs=list(l.inputs), samples=list(l.samples),
                                   needs_forces=l.needs_forces, needs_coordinates=l.needs_coordinates,
                                   stateful=l.stateful)

    def Describe(self, request, context):
        with self.lock:
            return self._describe(context)

    def Configure(self, request, context):
        try:
            loss = self.configure(dict(request.options))
        except Exception as e:  # the host shows the message to the user
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        with self.lock:
            self.loss = loss
            return self._describe(context)

    def Evaluate(self, request, context):
        with self.lock:
            l = self.loss
            if l is None:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the loss is not configured: call Configure first")
            inputs = {k: values(a) for k, a in request.inputs.items()}
            missing = [k for k in l.inputs if k not in inputs]
            if missing:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "inputs missing: %s" % ", ".join(missing))
            try:
                value, grads, metrics = l.evaluate(inputs)
            except Exception as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "%s: %s" % (type(e).__name__, e))
            resp = plugin_pb2.LossResponse(value=float(value))
            for k, g in grads.items():
                g = np.asarray(g, dtype="<f8")
                if k not in inputs or g.shape != inputs[k].shape:
                    context.abort(grpc.StatusCode.INTERNAL, "gradient %s of shape %s for an input of shape %s"
                                  % (k, g.shape, inputs[k].shape if k in inputs else None))
                resp.gradients[k].CopyFrom(array(g))
            for k, v in (metrics or {}).items():
                resp.metrics[k] = float(v)
            return resp


class _InfoServicer(plugin_pb2_grpc.InfoServicer):
    def __init__(self, info):
        self.info = info

    def Describe(self, request, context):
        return self.info


def _raw(handler):
    """A unary handler on raw bytes: for the two go-plugin services below,
    whose messages are too simple to need generated code."""
    return grpc.unary_unary_rpc_method_handler(handler, request_deserializer=None, response_serializer=None)


def _health_and_controller(server, stop):
    # grpc.health.v1.Health/Check: HealthCheckResponse{status: SERVING},
    # field 1 varint 1.
    health = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": _raw(lambda req, ctx: b"\x08\x01")})

    # plugin.GRPCController/Shutdown: go-plugin's graceful stop.
    def shutdown(req, ctx):
        threading.Thread(target=stop, daemon=True).start()
        return b""

    controller = grpc.method_handlers_generic_handler("plugin.GRPCController", {"Shutdown": _raw(shutdown)})
    server.add_generic_rpc_handlers((health, controller))


def _tls(server, address):
    """Serves with mutual TLS when mdrun asks for it (AutoMTLS): a fresh
    self-signed certificate for the server, mdrun's certificate as the only
    accepted client. Returns the handshake's certificate field."""
    client_pem = os.environ.get("PLUGIN_CLIENT_CERT")
    if not client_pem:
        server.add_insecure_port(address)
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "flowmd")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=30))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_agreement=True,
                                         key_cert_sign=True, content_commitment=False, data_encipherment=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=client_pem.encode(),
                                        require_client_auth=True)
    server.add_secure_port(address, creds)
    # go-plugin wants the raw DER certificate, base64 without padding.
    der = cert.public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode().rstrip("=")


def _serve(info, register):
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        print("This program is a flowmd plugin: mdrun starts it. It is not meant to be run by hand.", file=sys.stderr)
        sys.exit(1)
    versions = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(PROTOCOL_VERSION)).split(",")
    if str(PROTOCOL_VERSION) not in versions:
        print("this plugin speaks flowmd plugin protocol %d; mdrun speaks %s" % (PROTOCOL_VERSION, ",".join(versions)),
              file=sys.stderr)
        sys.exit(1)
    # mdrun decides when the plugin ends: a Ctrl-C in the terminal reaches
    # the whole process group, and the plugin must outlive it long enough
    # for mdrun to finish its last calls and save its state.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit = 1 << 30
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)])
    done = threading.Event()

    def stop():
        server.stop(grace=1).wait()
        done.set()

    register(server)
    plugin_pb2_grpc.add_InfoServicer_to_server(_InfoServicer(info), server)
    _health_and_controller(server, stop)
    sock = os.path.join(tempfile.mkdtemp(prefix="flowmd-plugin-"), "plugin.sock")
    cert = _tls(server, "unix:" + sock)
    server.start()
    line = "%d|%d|unix|%s|grpc" % (CORE_PROTOCOL_VERSION, PROTOCOL_VERSION, sock)
    if cert:
        line += "|" + cert
    print(line, flush=True)
    # Serve until mdrun shuts the plugin down or closes its end.
    try:
        done.wait()
    finally:
        try:
            os.remove(sock)
            os.rmdir(os.path.dirname(sock))
        except OSError:
            pass


def serve_forcefield(name, configure, version="1", description=""):
    """Run a force field plugin: configure(options) returns a ForceField
    for the options of mdrun's config (a dict of strings)."""
    info = plugin_pb2.PluginInfo(name=name, kind="forcefield", protocol=PROTOCOL_VERSION, version=version,
                                 description=description)
    _serve(info, lambda server: plugin_pb2_grpc.add_ForceFieldServicer_to_server(
        _ForceFieldServicer(info, configure), server))


def serve_loss(name, configure, version="1", description=""):
    """Run a loss plugin: configure(options) returns a Loss for the options
    of mdrun's training config (a dict of strings)."""
    info = plugin_pb2.PluginInfo(name=name, kind="loss", protocol=PROTOCOL_VERSION, version=version,
                                 description=description)
    _serve(info, lambda server: plugin_pb2_grpc.add_LossServicer_to_server(_LossServicer(info, configure), server))
