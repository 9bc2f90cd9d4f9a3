using System.Net;
using System.Net.Sockets;
using System.Text;
using InfraRelocation.Core.Health;
using InfraRelocation.Core.Tests.Gates;
using InfraRelocation.Core.Transitions;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>A tiny HTTP/1.1 server on 127.0.0.1 answering every request with the next status of a script (or hanging).</summary>
internal sealed class ScriptedHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int, int?> _status; // request number (1-based) -> status, null = never answer
    private readonly CancellationTokenSource _stop = new();
    private int _count;

    public ScriptedHttpServer(Func<int, int?> status)
    {
        _status = status;
        _listener.Start();
        _ = Task.Run(AcceptLoop);
    }

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/health");

    public int Requests => Volatile.Read(ref _count);

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    var stream = client.GetStream();
                    var buffer = new byte[4096];
                    var read = 0;
                    while (!Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var n = await stream.ReadAsync(buffer.AsMemory(read), _stop.Token);
                        if (n == 0) return;
                        read += n;
                    }
                    var status = _status(Interlocked.Increment(ref _count));
                    if (status is null)
                    {
                        await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { });
                        return;
                    }
                    var response = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                    await stream.WriteAsync(response, _stop.Token);
                }
            });
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}

public class PromotionHealthGateTests
{
    private static readonly PromotionProbeOptions Fast = new()
    {
        Probes = 3, Interval = TimeSpan.FromMilliseconds(20), Window = TimeSpan.FromSeconds(3), Timeout = TimeSpan.FromSeconds(5),
    };

    [Fact]
    public void ErrorsAfterWrite_CountsThisServiceButNotAnotherServicesFindings()
    {
        var b = new EstateBuilder();
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "docker-host" };
        var estate = b.Build();

        Assert.Contains(PromotionHealthGate.ErrorsAfterWrite(estate, "wiki"), f => f.RuleId == "D35.RegistryHostMismatch" && f.Subject == "wiki");
        Assert.DoesNotContain(PromotionHealthGate.ErrorsAfterWrite(estate, "chat"), f => f.Subject == "wiki");
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/health", "http://127.0.0.1:8080/health")]
    [InlineData("none", null)]
    [InlineData("null", null)]
    [InlineData("  ", null)]
    [InlineData(null, null)]
    public void HealthUrlOf_UsesTheGatesRuleForNoValue(string? written, string? expected) =>
        Assert.Equal(expected, PromotionHealthGate.HealthUrlOf(new InfraRelocation.Model.ServiceMove { Service = "wiki", HealthUrl = written }));

    [Fact]
    public async Task HealthyAfterNConsecutiveProbes()
    {
        using var server = new ScriptedHttpServer(_ => 200);
        using var probe = new HttpHealthProbe();
        var result = await PromotionHealthGate.RunAsync(server.Url, [200], Fast, probe);
        Assert.True(result.Healthy, result.Summary);
        Assert.Equal(3, result.Probes.Count);
        Assert.All(result.Probes, p => Assert.Equal(200, p.StatusCode));
    }

    [Fact]
    public async Task AFailureResetsTheRun()
    {
        using var server = new ScriptedHttpServer(n => n == 2 ? 500 : 200);
        using var probe = new HttpHealthProbe();
        var result = await PromotionHealthGate.RunAsync(server.Url, [200], Fast, probe);
        Assert.True(result.Healthy);
        Assert.Equal(5, result.Probes.Count); // 200, 500, 200, 200, 200
        Assert.False(result.Probes[1].Healthy);
    }

    [Fact]
    public async Task Non2xxIsUnhealthyUntilTheWindowEnds()
    {
        using var server = new ScriptedHttpServer(_ => 500);
        using var probe = new HttpHealthProbe();
        var result = await PromotionHealthGate.RunAsync(server.Url, [200], Fast with { Window = TimeSpan.FromMilliseconds(300) }, probe);
        Assert.False(result.Healthy);
        Assert.All(result.Probes, p => Assert.Equal(500, p.StatusCode));
        Assert.Contains("did not answer healthy 3 time(s) in a row", result.Summary);
    }

    [Fact]
    public async Task ATimeoutIsUnhealthy()
    {
        using var server = new ScriptedHttpServer(_ => null);
        using var probe = new HttpHealthProbe();
        var result = await PromotionHealthGate.RunAsync(server.Url, [200], Fast with { Probes = 1, Window = TimeSpan.FromMilliseconds(100), Timeout = TimeSpan.FromMilliseconds(200) }, probe);
        Assert.False(result.Healthy);
        Assert.Null(result.Probes[0].StatusCode);
        Assert.Contains("no answer", result.Probes[0].Error);
    }

    [Fact]
    public async Task ExpectedCodesComeFromTheCaller()
    {
        using var server = new ScriptedHttpServer(_ => 204);
        using var probe = new HttpHealthProbe();
        Assert.True((await PromotionHealthGate.RunAsync(server.Url, [200, 204], Fast with { Probes = 1 }, probe)).Healthy);
    }
}
