using System.Net;
using InfraRelocation.Core.Health;
using InfraRelocation.TestKit;

namespace InfraRelocation.Core.Tests.Health;

/// <summary>Against a real loopback HTTP listener.</summary>
public sealed class HttpHealthProbeTests : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Uri _base;
    private readonly CancellationTokenSource _stop = new();

    public HttpHealthProbeTests()
    {
        var port = ServerProcess.FreeLoopbackPort();
        _base = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(_base.ToString());
        _listener.Start();
        _ = Task.Run(ServeAsync);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _stop.Dispose();
    }

    // /status/NNN answers NNN; /slow waits 5 s.
    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                var path = ctx.Request.Url!.AbsolutePath;
                if (path == "/slow") { try { await Task.Delay(5000, _stop.Token); } catch (OperationCanceledException) { } }
                ctx.Response.StatusCode = path.StartsWith("/status/", StringComparison.Ordinal) ? int.Parse(path[8..]) : 200;
                try { ctx.Response.Close(); } catch (Exception) { }
            });
        }
    }

    [Fact]
    public async Task Probe_200_IsHealthyWithLatency()
    {
        using var probe = new HttpHealthProbe();
        var r = await probe.ProbeAsync(new Uri(_base, "health"));
        Assert.True(r.Healthy);
        Assert.Equal(200, r.StatusCode);
        Assert.Null(r.Error);
        Assert.True(r.Latency > TimeSpan.Zero);
    }

    [Fact]
    public async Task Probe_UnexpectedStatus_IsUnhealthy_UnlessExpected()
    {
        using var probe = new HttpHealthProbe();
        var r = await probe.ProbeAsync(new Uri(_base, "status/503"));
        Assert.False(r.Healthy);
        Assert.Equal(503, r.StatusCode);
        Assert.Contains("503", r.Error);
        Assert.True((await probe.ProbeAsync(new Uri(_base, "status/204"), [200, 204])).Healthy);
        Assert.Equal(302, (await probe.ProbeAsync(new Uri(_base, "status/302"))).StatusCode); // redirects not followed
    }

    [Fact]
    public async Task Probe_Timeout_And_Refused_AreReportedNotThrown()
    {
        using var probe = new HttpHealthProbe();
        var slow = await probe.ProbeAsync(new Uri(_base, "slow"), timeout: TimeSpan.FromMilliseconds(300));
        Assert.False(slow.Healthy);
        Assert.Null(slow.StatusCode);
        Assert.Contains("no answer", slow.Error);
        Assert.True(slow.Latency < TimeSpan.FromSeconds(3));

        var refused = await probe.ProbeAsync(new Uri($"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}/"));
        Assert.False(refused.Healthy);
        Assert.NotNull(refused.Error);
    }

    [Fact]
    public async Task Probe_CallerCancellation_Throws()
    {
        using var probe = new HttpHealthProbe();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => probe.ProbeAsync(new Uri(_base, "slow"), cancellationToken: cts.Token));
    }
}
