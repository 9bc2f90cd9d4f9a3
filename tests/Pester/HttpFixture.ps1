# Small HTTP health responders and silent TCP listeners on 127.0.0.1 for Pester tests, the demo and benchmarks
# (dot-source this file).
#
#   $http = Start-TestHttpServer          # GET /status/<code> answers <code>; /slow/<ms> waits, then 200; else 200
#   "http://127.0.0.1:$($http.Port)/status/503"
#   $hole = Start-TestBlackHole           # accepts TCP connections and never answers (an SSH server that hangs)
#   $http.Dispose(); $hole.Dispose()

if (-not ('InfraRelocationTest.HttpResponder' -as [type])) {
    Add-Type -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;

namespace InfraRelocationTest
{
    public sealed class HttpResponder : IDisposable
    {
        private readonly HttpListener _listener = new HttpListener();
        public int Port { get; }
        public int Requests;

        public HttpResponder(int port)
        {
            Port = port;
            _listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
            _listener.Start();
            Task.Run(Loop);
        }

        private async Task Loop()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext c;
                try { c = await _listener.GetContextAsync(); } catch { return; }
                _ = Task.Run(() => Handle(c));
            }
        }

        private async Task Handle(HttpListenerContext c)
        {
            System.Threading.Interlocked.Increment(ref Requests);
            var parts = c.Request.Url.AbsolutePath.Trim('/').Split('/');
            var code = 200;
            if (parts.Length >= 2 && parts[0] == "status") int.TryParse(parts[1], out code);
            if (parts.Length >= 2 && parts[0] == "slow" && int.TryParse(parts[1], out var ms)) await Task.Delay(ms);
            try
            {
                c.Response.StatusCode = code;
                var body = Encoding.UTF8.GetBytes("status " + code + "\n");
                c.Response.ContentLength64 = body.Length;
                await c.Response.OutputStream.WriteAsync(body, 0, body.Length);
                c.Response.Close();
            }
            catch { }
        }

        public void Dispose() { try { _listener.Stop(); _listener.Close(); } catch { } }
    }

    public sealed class BlackHole : IDisposable
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly List<Socket> _held = new List<Socket>();
        public int Port { get; }
        public int Accepted;

        public BlackHole()
        {
            _listener.Start(1024);
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            Task.Run(Loop);
        }

        private async Task Loop()
        {
            while (true)
            {
                Socket s;
                try { s = await _listener.AcceptSocketAsync(); } catch { return; }
                System.Threading.Interlocked.Increment(ref Accepted);
                lock (_held) _held.Add(s);
            }
        }

        public void Dispose()
        {
            try { _listener.Stop(); } catch { }
            lock (_held) { foreach (var s in _held) { try { s.Dispose(); } catch { } } _held.Clear(); }
        }
    }
}
'@
}

function Start-TestHttpServer {
    [OutputType([InfraRelocationTest.HttpResponder])]
    param([int]$Port = 0)
    if ($Port -eq 0) {
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $l.Start(); $Port = $l.LocalEndpoint.Port; $l.Stop()
    }
    [InfraRelocationTest.HttpResponder]::new($Port)
}

function Start-TestBlackHole {
    [OutputType([InfraRelocationTest.BlackHole])]
    param()
    [InfraRelocationTest.BlackHole]::new()
}
