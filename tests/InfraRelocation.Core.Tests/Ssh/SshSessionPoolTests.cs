using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using InfraRelocation.Core.Concurrency;
using InfraRelocation.Core.Ssh;
using InfraRelocation.TestKit;

namespace InfraRelocation.Core.Tests.Ssh;

/// <summary>Against real sshd instances (see <see cref="SshServerFixture"/>).</summary>
[Collection(SshServerCollection.Name)]
public sealed class SshSessionPoolTests(SshServerFixture fx) : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("ir-sshtest-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private void SkipIfNoSshd() => Skip.If(fx.SkipReason is not null, fx.SkipReason);

    [SkippableFact]
    public async Task Run_ReturnsOutputErrorAndExitCode()
    {
        SkipIfNoSshd();
        using var pool = new SshSessionPool();
        var r = await pool.RunAsync(fx.Endpoint(fx.Default), "echo out; echo err >&2; exit 3");
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
        Assert.Equal(3, r.ExitCode);
        Assert.False(r.Succeeded);
        Assert.True(r.Duration > TimeSpan.Zero);
        var ex = Assert.Throws<RelocationException>(() => r.EnsureSuccess());
        Assert.Equal("SshCommandFailed", ex.ErrorId);
        Assert.Contains("err", ex.Message);
    }

    [SkippableFact]
    public async Task Run_ReusesOneConnectionPerHost_AlsoForConcurrentCommands()
    {
        SkipIfNoSshd();
        using var server = fx.Start("reuse");
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(server);
        await pool.RunAsync(ep, "true");
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => pool.RunAsync(ep, $"echo {i}")));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"{i}\n"), results.Select(r => r.Stdout));
        Assert.Equal(1, pool.ConnectionsOpened);
        Assert.Equal(1, server.AcceptedConnections); // what the server saw, not just our counter
    }

    [SkippableFact]
    public async Task Run_MoreConcurrentCommandsThanSshdMaxSessions_QueueOnTheOneConnection()
    {
        SkipIfNoSshd();
        using var server = fx.Start("busy");
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(server);
        var results = await Task.WhenAll(Enumerable.Range(0, 14).Select(i => pool.RunAsync(ep, $"sleep 0.3; echo {i}")));
        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        Assert.Equal(1, pool.ConnectionsOpened);
        Assert.Equal(1, server.AcceptedConnections);
    }

    [SkippableFact]
    public async Task Run_PlainStdin_FeedsAScript_AndLogLinesAreMasked()
    {
        SkipIfNoSshd();
        var lines = new List<string>();
        var secret = new SshSecret("tok-" + Guid.NewGuid().ToString("N"));
        using var pool = new SshSessionPool { Log = l => { lock (lines) lines.Add(l); } };
        var r = await pool.RunAsync(fx.Endpoint(fx.Default), $"sh -s -- '{secret.Reveal()}'",
            new SshRunOptions { Stdin = "echo \"arg=$1\"\nexit 5\n", Mask = [secret] });
        Assert.Equal(5, r.ExitCode);
        Assert.Equal($"arg={SshSecret.MaskText}\n", r.Stdout);
        Assert.Equal($"sh -s -- '{SshSecret.MaskText}'", r.Command);
        Assert.NotEmpty(lines);
        Assert.DoesNotContain(lines, l => l.Contains(secret.Reveal(), StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Connect_ChangedPinnedKey_IsRefusedShowingPresentedAndExpected()
    {
        SkipIfNoSshd();
        using var other = fx.Start("other-key");
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(fx.Default) with { PinnedHostKeys = [other.HostKeyFingerprint] };
        var ex = await Assert.ThrowsAsync<RelocationException>(() => pool.RunAsync(ep, "true"));
        Assert.Equal("SshHostKeyMismatch", ex.ErrorId);
        Assert.Equal(FailureKind.SecurityError, ex.Kind);
        Assert.Contains(fx.Default.HostKeyFingerprint, ex.Message);
        Assert.Contains(other.HostKeyFingerprint, ex.Message);
        Assert.Equal(0, pool.ConnectionsOpened);
    }

    [SkippableFact]
    public async Task Connect_UnknownKey_IsRefusedWithoutTrustOnFirstUse()
    {
        SkipIfNoSshd();
        using var pool = new SshSessionPool();
        var kh = Path.Combine(_tmp, "known_hosts");
        var ep = fx.Endpoint(fx.Default) with { PinnedHostKeys = [], KnownHostsFile = kh };
        var ex = await Assert.ThrowsAsync<RelocationException>(() => pool.RunAsync(ep, "true"));
        Assert.Equal("SshHostKeyUnknown", ex.ErrorId);
        Assert.Equal(FailureKind.SecurityError, ex.Kind);
        Assert.Contains(fx.Default.HostKeyFingerprint, ex.Message);
        Assert.False(File.Exists(kh));

        var none = fx.Endpoint(fx.Default) with { PinnedHostKeys = [] }; // nothing to verify against: refused, key shown
        var ex2 = await Assert.ThrowsAsync<RelocationException>(() => pool.RunAsync(none, "true"));
        Assert.Equal("SshHostKeyUnknown", ex2.ErrorId);
        Assert.Contains(fx.Default.HostKeyFingerprint, ex2.Message);
    }

    [SkippableFact]
    public async Task Connect_TrustOnFirstUse_RecordsKeyThenTrustsItWithoutTofu()
    {
        SkipIfNoSshd();
        var kh = Path.Combine(_tmp, "sub", "known_hosts");
        var ep = fx.Endpoint(fx.Default) with { PinnedHostKeys = [], KnownHostsFile = kh, TrustOnFirstUse = true };
        using (var pool = new SshSessionPool())
        {
            var check = await pool.ConnectAsync(ep);
            Assert.Equal(HostKeyVerdict.TrustedOnFirstUse, check.Verdict);
            Assert.Equal(fx.Default.HostKeyFingerprint, check.Presented);
        }
        Assert.Equal(fx.Default.KnownHostsLine + "\n", File.ReadAllText(kh));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(kh));

        using var again = new SshSessionPool();
        var check2 = await again.ConnectAsync(ep with { TrustOnFirstUse = false });
        Assert.Equal(HostKeyVerdict.Trusted, check2.Verdict);
    }

    [SkippableFact]
    public async Task Connect_KnownHostsWithOtherKey_IsAMismatchEvenWithTofu()
    {
        SkipIfNoSshd();
        using var other = fx.Start("impostor");
        var kh = Path.Combine(_tmp, "known_hosts");
        // The impostor answers on the port where known_hosts recorded the default server's key.
        File.WriteAllText(kh, $"[127.0.0.1]:{other.Port} {fx.Default.HostKeyType} {fx.Default.HostKeyBase64}\n");
        var ep = fx.Endpoint(other) with { PinnedHostKeys = [], KnownHostsFile = kh, TrustOnFirstUse = true };
        using var pool = new SshSessionPool();
        var ex = await Assert.ThrowsAsync<RelocationException>(() => pool.RunAsync(ep, "true"));
        Assert.Equal("SshHostKeyMismatch", ex.ErrorId);
        Assert.Contains(other.HostKeyFingerprint, ex.Message);
        Assert.Contains(fx.Default.HostKeyFingerprint, ex.Message);
        Assert.Single(File.ReadAllLines(kh)); // nothing recorded
    }

    [SkippableFact]
    public async Task Connect_HashedKnownHostsEntry_IsTrusted()
    {
        SkipIfNoSshd();
        var kh = Path.Combine(_tmp, "known_hosts");
        File.WriteAllText(kh, fx.Default.KnownHostsLine + "\n");
        Assert.Equal(0, SshServerFixture.Run("/usr/bin/ssh-keygen", $"-H -f {kh}"));
        Assert.StartsWith("|1|", File.ReadAllText(kh));
        using var pool = new SshSessionPool();
        var check = await pool.ConnectAsync(fx.Endpoint(fx.Default) with { PinnedHostKeys = [], KnownHostsFile = kh });
        Assert.Equal(HostKeyVerdict.Trusted, check.Verdict);
    }

    [SkippableFact]
    public async Task Connect_HostWithSeveralKeys_NegotiatesTheRecordedType_AndTofuRecordsTheKeyType()
    {
        SkipIfNoSshd();
        using var server = fx.Start("multikey", rsaHostKey: true);
        var kh = Path.Combine(_tmp, "known_hosts");
        File.WriteAllText(kh, server.RsaKnownHostsLine + "\n"); // only the RSA key recorded
        using var pool = new SshSessionPool();
        var check = await pool.ConnectAsync(fx.Endpoint(server) with { PinnedHostKeys = [], KnownHostsFile = kh });
        Assert.Equal(HostKeyVerdict.Trusted, check.Verdict);
        Assert.Equal("ssh-rsa", check.KeyType);

        var kh2 = Path.Combine(_tmp, "known_hosts2");
        File.WriteAllText(kh2, "");
        using var pool2 = new SshSessionPool();
        var first = await pool2.ConnectAsync(fx.Endpoint(server) with { PinnedHostKeys = [], KnownHostsFile = kh2, TrustOnFirstUse = true });
        Assert.Equal(HostKeyVerdict.TrustedOnFirstUse, first.Verdict);
        var line = File.ReadAllText(kh2).Split(' ');
        Assert.Equal(first.KeyType, line[1]);
        Assert.True(line[1] is "ssh-ed25519" or "ssh-rsa", line[1]); // never an algorithm name like rsa-sha2-512
    }

    [SkippableFact]
    public async Task Connect_UnauthorisedUserKey_IsAnAuthenticationError()
    {
        SkipIfNoSshd();
        var key = Path.Combine(_tmp, "stranger");
        SshServerFixture.Keygen(key);
        using var pool = new SshSessionPool();
        var ex = await Assert.ThrowsAsync<RelocationException>(() =>
            pool.RunAsync(fx.Endpoint(fx.Default) with { PrivateKeyFiles = [key] }, "true"));
        Assert.Equal("SshAuthenticationFailed", ex.ErrorId);
        Assert.Equal(FailureKind.AuthenticationError, ex.Kind);
    }

    [SkippableFact]
    public async Task Connect_MissingKeyFile_IsAnInvalidArgument()
    {
        SkipIfNoSshd();
        using var pool = new SshSessionPool();
        var ex = await Assert.ThrowsAsync<RelocationException>(() =>
            pool.RunAsync(fx.Endpoint(fx.Default) with { PrivateKeyFiles = [Path.Combine(_tmp, "nope")] }, "true"));
        Assert.Equal("SshPrivateKeyUnreadable", ex.ErrorId);
    }

    [SkippableFact]
    public async Task Connect_NothingListening_IsAConnectionError()
    {
        SkipIfNoSshd();
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(fx.Default, "closed") with { };
        ep = new SshEndpoint("closed", "127.0.0.1", fx.UserName, ServerProcess.FreeLoopbackPort())
        {
            PrivateKeyFiles = ep.PrivateKeyFiles, PinnedHostKeys = ep.PinnedHostKeys,
        };
        var ex = await Assert.ThrowsAsync<RelocationException>(() => pool.RunAsync(ep, "true"));
        Assert.Equal("SshConnectFailed", ex.ErrorId);
        Assert.Equal(FailureKind.ConnectionError, ex.Kind);
        Assert.Contains("closed", ex.Message);
    }

    [SkippableFact]
    public async Task Connect_SilentServer_TimesOut()
    {
        SkipIfNoSshd();
        using var silent = new TcpListener(IPAddress.Loopback, 0); // accepts, never sends a banner
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var ep = new SshEndpoint("silent", "127.0.0.1", fx.UserName, port)
        {
            PrivateKeyFiles = [fx.UserKeyPath], PinnedHostKeys = [fx.Default.HostKeyFingerprint],
            ConnectTimeout = TimeSpan.FromSeconds(1),
        };
        using var pool = new SshSessionPool();
        var ex = await Assert.ThrowsAsync<RelocationException>(() => pool.RunAsync(ep, "true"));
        Assert.Equal("SshConnectFailed", ex.ErrorId);
        Assert.Equal(FailureKind.OperationTimeout, ex.Kind);
    }

    [SkippableFact]
    public async Task Run_CommandTimeout_StopsTheCommandAndThePoolStaysUsable()
    {
        SkipIfNoSshd();
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(fx.Default);
        var ex = await Assert.ThrowsAsync<RelocationException>(() =>
            pool.RunAsync(ep, "sleep 19.25", new SshRunOptions { Timeout = TimeSpan.FromSeconds(1) }));
        Assert.Equal("SshCommandTimeout", ex.ErrorId);
        Assert.Equal(FailureKind.OperationTimeout, ex.Kind);
        Assert.Equal("ok\n", (await pool.RunAsync(ep, "echo ok")).Stdout);
        await AssertProcessGoneAsync("sleep 19.25");
    }

    [SkippableFact]
    public async Task Run_Cancellation_EndsTheCallAndTheRemoteCommand()
    {
        SkipIfNoSshd();
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(fx.Default);
        await pool.ConnectAsync(ep);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pool.RunAsync(ep, "sleep 21.5", cancellationToken: cts.Token));
        await AssertProcessGoneAsync("sleep 21.5");
        Assert.Equal(0, (await pool.RunAsync(ep, "true")).ExitCode);
    }

    [SkippableFact]
    public async Task Run_ServerDiesMidCommand_IsConnectionLost_ThenReconnectsAfterRestart()
    {
        SkipIfNoSshd();
        using var server = fx.Start("dropper");
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(server);
        var running = pool.RunAsync(ep, "sleep 30");
        await Task.Delay(700);
        server.Kill();
        var ex = await Assert.ThrowsAsync<RelocationException>(() => running.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("SshConnectionLost", ex.ErrorId);
        Assert.Equal(FailureKind.ConnectionError, ex.Kind);

        Assert.Equal("SshConnectFailed", (await Assert.ThrowsAsync<RelocationException>(() => pool.RunAsync(ep, "true"))).ErrorId);
        server.Restart();
        Assert.Equal("back\n", (await pool.RunAsync(ep, "echo back")).Stdout);
        Assert.Equal(2, pool.ConnectionsOpened);
    }

    [SkippableFact]
    public async Task Run_ServerRestartedBetweenCommands_ReconnectsTransparently()
    {
        SkipIfNoSshd();
        using var server = fx.Start("bouncer");
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(server);
        await pool.RunAsync(ep, "true");
        server.Restart();
        Assert.Equal("again\n", (await pool.RunAsync(ep, "echo again")).Stdout);
    }

    [SkippableFact]
    public async Task SecretOnStdin_NeverInProcessListOutputOrErrors()
    {
        SkipIfNoSshd();
        var value = "tskey-" + Guid.NewGuid().ToString("N");
        var secret = new SshSecret(value);
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(fx.Default);
        var seen = new List<string>();
        var run = pool.RunAsync(ep, "read -r k; sleep 2; printf '%s' \"$k\" | wc -c; echo \"$k\"; echo \"$k\" >&2; exit 4",
            new SshRunOptions { SecretStdin = secret });
        while (!run.IsCompleted)
        {
            seen.Add(await ProcessListAsync());
            await Task.Delay(100);
        }
        var r = await run;
        Assert.True(seen.Count >= 2, $"only {seen.Count} process-list samples");
        Assert.DoesNotContain(seen, ps => ps.Contains(value, StringComparison.Ordinal));
        Assert.Equal($"{value.Length}\n{SshSecret.MaskText}\n", r.Stdout); // the remote got it; what comes back is masked
        Assert.Equal($"{SshSecret.MaskText}\n", r.Stderr);
        Assert.Equal(SshSecret.MaskText, secret.ToString());
        var failed = Assert.Throws<RelocationException>(() => r.EnsureSuccess());
        Assert.DoesNotContain(value, failed.Message);

        var timeout = await Assert.ThrowsAsync<RelocationException>(() => pool.RunAsync(ep, "read -r k; sleep 10",
            new SshRunOptions { SecretStdin = secret, Timeout = TimeSpan.FromMilliseconds(500) }));
        Assert.DoesNotContain(value, timeout.ToString());
    }

    [Fact]
    public void KeyExchange_PrefersCheapAlgorithms_AndKeepsSntrupOnlyAsTheLastResort()
    {
        var info = new Renci.SshNet.ConnectionInfo("127.0.0.1", "u", new Renci.SshNet.NoneAuthenticationMethod("u"));
        var before = info.KeyExchangeAlgorithms.Keys.ToList();
        SshSessionPool.PreferCheapKeyExchange(info);
        var after = info.KeyExchangeAlgorithms.Keys.ToList();
        Assert.Equal(before.OrderBy(k => k), after.OrderBy(k => k));
        var firstSntrup = after.FindIndex(k => k.StartsWith("sntrup761", StringComparison.Ordinal));
        Assert.True(firstSntrup < 0 || after.Skip(firstSntrup).All(k => k.StartsWith("sntrup761", StringComparison.Ordinal)), string.Join(", ", after));
        Assert.True(after.IndexOf("curve25519-sha256") < after.IndexOf("diffie-hellman-group14-sha256"));
    }

    [SkippableFact]
    public async Task Connect_ToOpenSsh_NegotiatesCurve25519_NotTheCostlySntrup()
    {
        SkipIfNoSshd();
        var log = new List<string>();
        using var pool = new SshSessionPool { Log = l => { lock (log) log.Add(l); } };
        await pool.ConnectAsync(fx.Endpoint(fx.Default));
        Assert.Contains(log, l => l.Contains("key exchange curve25519-sha256", StringComparison.Ordinal) || l.Contains("key exchange mlkem768x25519", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void PromptAcks_ReachesSshNetsPrivateSocket()
    {
        // PromptAcks reads SSH.NET's private socket by reflection: an SSH.NET upgrade that moves it must fail here,
        // not silently bring back the 40 ms wait on every first command (docs/benchmarks.md, SSH latency).
        SkipIfNoSshd();
        Skip.IfNot(OperatingSystem.IsLinux(), "TCP_QUICKACK is Linux only");
        var ep = fx.Endpoint(fx.Default);
        using var key = new Renci.SshNet.PrivateKeyFile(fx.UserKeyPath);
        using var client = new Renci.SshNet.SshClient(ep.Host, ep.Port, ep.User, key);
        client.Connect();
        using var acks = PromptAcks.Start(client);
        Assert.NotNull(acks);
        using var cmd = client.RunCommand("echo ok");
        Assert.Equal("ok\n", cmd.Result);
    }

    [SkippableFact]
    public async Task FanOut_OverSeveralHosts_RunsAWholeRoundAtOnce()
    {
        SkipIfNoSshd();
        var servers = Enumerable.Range(1, 4).Select(i => fx.Start($"fan{i}")).ToList();
        try
        {
            using var pool = new SshSessionPool();
            var eps = servers.Select(s => fx.Endpoint(s)).ToList();
            await BoundedParallel.ForEachAsync(eps, (ep, ct) => pool.ConnectAsync(ep, ct)); // connections apart
            var items = Enumerable.Range(0, 8).Select(i => eps[i % 4]).ToList();
            // A barrier on the shared /tmp: each command waits until four have started. It completes only when
            // a whole round of four runs at once (one by one, the first would wait until its timeout).
            var barrier = Path.Combine(Path.GetTempPath(), $"fanout-{Guid.NewGuid():N}");
            var command = $"mkdir -p {barrier}; touch {barrier}/$$; while [ $(ls {barrier} | wc -l) -lt 4 ]; do sleep 0.05; done; echo $PPID";
            try
            {
                var results = await BoundedParallel.ForEachAsync(items, (ep, ct) =>
                    pool.RunAsync(ep, command, new SshRunOptions { Timeout = TimeSpan.FromMinutes(1) }, ct), maxParallelism: 4);
                Assert.All(results, r => Assert.True(r.Succeeded, r.Error?.Message));
                Assert.Equal(4, pool.ConnectionsOpened);
            }
            finally
            {
                if (Directory.Exists(barrier)) Directory.Delete(barrier, recursive: true);
            }
        }
        finally
        {
            servers.ForEach(s => s.Dispose());
        }
    }

    private static async Task<string> ProcessListAsync()
    {
        var psi = new ProcessStartInfo("ps", "-eo args") { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var text = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return text;
    }

    private static async Task AssertProcessGoneAsync(string commandLine)
    {
        for (var i = 0; i < 150; i++) // up to 15 s: the commands run 19 s and more if not stopped
        {
            if (!(await ProcessListAsync()).Split('\n').Any(l => l.Trim() == commandLine)) return;
            await Task.Delay(100);
        }
        Assert.Fail($"'{commandLine}' still runs on the server 5 s after being stopped.");
    }
}
