using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace InfraRelocation.Core.Ssh;

/// <summary>
/// One SSH connection per endpoint id, opened on first use and reused by every later command
/// (commands may run concurrently on it, each on its own channel). Thread-safe. A connection that
/// drops is replaced on the next run. Dispose closes them all.
/// </summary>
public sealed class SshSessionPool : IDisposable
{
    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private int _opened;
    private volatile bool _disposed;

    /// <summary>Optional sink for diagnostic lines (secrets already masked); the cmdlet maps it to verbose.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>How many SSH connections this pool has opened so far.</summary>
    public int ConnectionsOpened => _opened;

    /// <summary>Opens (or reuses) the connection, verifying the host key; returns the accepted key check.</summary>
    public async Task<HostKeyCheck> ConnectAsync(SshEndpoint endpoint, CancellationToken cancellationToken = default)
        => (await GetClientAsync(endpoint, cancellationToken).ConfigureAwait(false)).HostKey;

    /// <summary>
    /// Runs <paramref name="command"/> (a POSIX shell line) and returns its result whatever the exit code
    /// (use <see cref="SshCommandResult.EnsureSuccess"/>). Throws RelocationException for connection,
    /// host key, authentication and timeout failures; OperationCanceledException on cancellation, after
    /// closing the channel.
    /// </summary>
    public async Task<SshCommandResult> RunAsync(SshEndpoint endpoint, string command, SshRunOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        options ??= new SshRunOptions();
        if (options.SecretStdin is not null && options.Stdin is not null)
            throw new ArgumentException("Pass either Stdin or SecretStdin, not both.", nameof(options));
        SshSecret?[] secrets = [options.SecretStdin, .. options.Mask];
        var shown = SshSecret.Mask(command, secrets);
        var timeout = options.Timeout ?? endpoint.CommandTimeout;

        for (var attempt = 1; ; attempt++)
        {
            var lease = await GetClientAsync(endpoint, cancellationToken).ConfigureAwait(false);
            SshCommand cmd;
            Task exec;
            using var timeoutCts = new CancellationTokenSource(timeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
            var sw = Stopwatch.StartNew();
            try
            {
                (cmd, exec) = await StartAsync(lease, PgidPrefix + command).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException)
            {
                // The channel could not even be opened, so the command never ran: on a stale reused connection,
                // retrying once on a fresh one is safe.
                Evict(endpoint.Id, lease);
                if (attempt > 1 || cancellationToken.IsCancellationRequested)
                    throw new RelocationException("SshConnectionLost", FailureKind.ConnectionError,
                        $"Could not start a command on {endpoint}: {ex.Message}. The command did not run.", target: endpoint.Id, inner: ex);
                Log?.Invoke($"SSH {endpoint.Id}: stale connection ({ex.Message}); reconnecting.");
                continue;
            }

            using (cmd)
            {
                var stderr = ReadStderrAsync(cmd.ExtendedOutputStream, out var pgid);
                try
                {
                    var input = options.SecretStdin?.Reveal() ?? options.Stdin;
                    if (input is not null)
                    {
                        await using var stdin = cmd.CreateInputStream();
                        await stdin.WriteAsync(Encoding.UTF8.GetBytes(input), linked.Token).ConfigureAwait(false);
                    }
                    else
                    {
                        // EOF on stdin: a command reading it must not hang. A fast command may already have
                        // finished (SSH.NET then refuses the stream): it read nothing, so there is nothing to close.
                        try { cmd.CreateInputStream().Dispose(); }
                        catch (InvalidOperationException) { /* the channel is closed already: exec reports how it ended */ }
                    }
                    // WaitAsync: return at once on cancel/timeout even if the server never answers.
                    await exec.WaitAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    await StopAsync(lease, cmd, exec, pgid).ConfigureAwait(false);
                    throw new RelocationException("SshCommandTimeout", FailureKind.OperationTimeout,
                        $"Command on {endpoint} did not finish within {timeout.TotalSeconds:0.#} s and was stopped: {shown}", target: endpoint.Id);
                }
                catch (OperationCanceledException)
                {
                    await StopAsync(lease, cmd, exec, pgid).ConfigureAwait(false);
                    Log?.Invoke($"SSH {endpoint.Id}: cancelled: {shown}");
                    throw;
                }
                catch (Exception ex) when (ex is SshConnectionException or SocketException or ObjectDisposedException or IOException)
                {
                    Evict(endpoint.Id, lease);
                    throw new RelocationException("SshConnectionLost", FailureKind.ConnectionError,
                        $"Connection to {endpoint} was lost while running: {shown} ({SshSecret.Mask(ex.Message, secrets)}). " +
                        "The command may or may not have completed on the host.", target: endpoint.Id);
                }

                string err;
                try { err = await stderr.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false); }
                catch (TimeoutException) { err = "(stderr not received)"; }
                var result = new SshCommandResult(endpoint.Id, shown, cmd.ExitStatus ?? -1,
                    SshSecret.Mask(cmd.Result, secrets), SshSecret.Mask(err, secrets), sw.Elapsed, cmd.ExitSignal);
                if (cmd.ExitStatus is null && cmd.ExitSignal is null && !lease.Client.IsConnected)
                {
                    Evict(endpoint.Id, lease);
                    throw new RelocationException("SshConnectionLost", FailureKind.ConnectionError,
                        $"Connection to {endpoint} was lost while running: {shown}. The command may or may not have completed on the host.",
                        target: endpoint.Id);
                }
                Log?.Invoke($"SSH {endpoint.Id}: exit {result.ExitCode} in {result.Duration.TotalMilliseconds:0} ms: {shown}");
                return result;
            }
        }
    }

    /// <summary>
    /// Opens the command's channel and sends it. SSH.NET does this synchronously (it blocks until the server confirms
    /// the channel), so it runs on a thread of its own: on the thread pool, a fan-out of 16 first commands blocked 16
    /// pool threads on a 2-core machine and waited for the pool to grow (docs/benchmarks.md, SSH latency). The first
    /// channel of a connection is opened with prompt TCP ACKs (<see cref="PromptAcks"/>).
    /// </summary>
    private static Task<(SshCommand, Task)> StartAsync(Lease lease, string command) =>
        Task.Factory.StartNew(() =>
        {
            using var acks = lease.FirstChannelOpened ? null : PromptAcks.Start(lease.Client);
            var cmd = lease.Client.CreateCommand(command);
            var exec = cmd.ExecuteAsync(CancellationToken.None);
            lease.FirstChannelOpened = true;
            return (cmd, exec);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    // Every command is prefixed with this: the remote shell is a session leader (sshd calls setsid), so its pid is
    // the process group of everything the command starts. Cancellation kills that group over a second channel,
    // because closing the channel does not stop a command without a pty, and OpenSSH ignores "signal" requests
    // for root logins. A login user that ran the command through sudo kills it through sudo -n.
    private const string PgidMarker = "IR_PGID=";
    private const string PgidPrefix = "printf '" + PgidMarker + "%s\\n' \"$$\" >&2; ";

    private static Task<string> ReadStderrAsync(Stream stream, out Task<int?> pgid)
    {
        var found = new TaskCompletionSource<int?>(TaskCreationOptions.RunContinuationsAsynchronously);
        pgid = found.Task;
        return Task.Run(async () =>
        {
            var text = new StringBuilder();
            using var reader = new StreamReader(stream, Encoding.UTF8);
            try
            {
                while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
                {
                    if (line.StartsWith(PgidMarker, StringComparison.Ordinal) && !found.Task.IsCompleted)
                    {
                        found.TrySetResult(int.TryParse(line.AsSpan(PgidMarker.Length), out var id) && id > 1 ? id : null);
                        text.Append(await reader.ReadToEndAsync().ConfigureAwait(false));
                        break;
                    }
                    text.Append(line).Append('\n');
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException) { /* channel gone */ }
            finally { found.TrySetResult(null); }
            return text.ToString();
        });
    }

    /// <summary>Kills the command's process group over a new channel (bounded wait), then closes its channel.</summary>
    private async Task StopAsync(Lease lease, SshCommand cmd, Task exec, Task<int?> pgidTask)
    {
        _ = exec.ContinueWith(static t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        try
        {
            var pgid = await pgidTask.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            if (pgid is not null && lease.Client.IsConnected)
            {
                using var kill = lease.Client.CreateCommand($"kill -KILL -- -{pgid} 2>/dev/null || kill -KILL {pgid} 2>/dev/null || sudo -n kill -KILL -- -{pgid} 2>/dev/null; true");
                await kill.ExecuteAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log?.Invoke($"SSH: could not stop a cancelled command: {ex.Message}");
        }
        cmd.Dispose();
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var slot in _slots.Values) slot.Close();
        _slots.Clear();
    }

    private void Evict(string id, Lease lease)
    {
        if (_slots.TryGetValue(id, out var slot)) slot.Drop(lease);
    }

    private async Task<Lease> GetClientAsync(SshEndpoint ep, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var slot = _slots.GetOrAdd(ep.Id, _ => new Slot());
        await slot.Gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (slot.Current is { Client.IsConnected: true } live) return live;
            slot.Close();
            var lease = await OpenAsync(ep, ct).ConfigureAwait(false);
            Interlocked.Increment(ref _opened);
            slot.Current = lease;
            return lease;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    private async Task<Lease> OpenAsync(SshEndpoint ep, CancellationToken ct)
    {
        if (ep.PrivateKeyFiles.Count == 0)
            throw new RelocationException("SshNoPrivateKey", FailureKind.InvalidArgument, $"SSH endpoint {ep} has no private key file.", target: ep.Id);
        foreach (var pin in ep.PinnedHostKeys) HostKeyVerifier.NormalizeFingerprint(pin, ep.Id);

        var keys = new List<PrivateKeyFile>();
        foreach (var path in ep.PrivateKeyFiles)
        {
            try { keys.Add(new PrivateKeyFile(path)); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SshException or ArgumentException or InvalidOperationException)
            {
                foreach (var k in keys) k.Dispose();
                throw new RelocationException("SshPrivateKeyUnreadable", FailureKind.InvalidArgument,
                    $"Cannot use private key file '{path}' for {ep}: {ex.Message}", target: path);
            }
        }

        var info = new ConnectionInfo(ep.Host, ep.Port, ep.User, new PrivateKeyAuthenticationMethod(ep.User, keys.ToArray()))
        {
            Timeout = ep.ConnectTimeout,
        };
        PreferCheapKeyExchange(info);
        // Like OpenSSH: when known_hosts records this host (and nothing is pinned), negotiate a key type it recorded,
        // so a host with several keys is not refused for presenting a different, equally genuine one.
        var known = ep.PinnedHostKeys.Count == 0 ? HostKeyVerifier.KnownKeyTypes(ep) : new HashSet<string>();
        var unwanted = info.HostKeyAlgorithms.Keys.Where(a => !known.Contains(a.StartsWith("rsa-sha2-", StringComparison.Ordinal) ? "ssh-rsa" : a)).ToList();
        if (known.Count > 0 && unwanted.Count < info.HostKeyAlgorithms.Count)
            foreach (var a in unwanted) info.HostKeyAlgorithms.Remove(a);
        var client = new SshClient(info);
        HostKeyCheck? check = null;
        Exception? checkError = null;
        client.HostKeyReceived += (_, e) =>
        {
            try
            {
                check = HostKeyVerifier.Check(ep, e.HostKeyName, e.HostKey);
                e.CanTrust = check.IsTrusted;
            }
            catch (Exception ex)
            {
                checkError = ex;
                e.CanTrust = false;
            }
        };

        using var timeoutCts = new CancellationTokenSource(ep.ConnectTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutCts.Token);
        // SSH.NET's key exchange and authentication wait synchronously (also inside ConnectAsync): on pool threads, a
        // fan-out of 16 connections waited for the pool to grow. A thread of its own; cancelling disposes the client.
        var connect = Task.Factory.StartNew(client.Connect, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _ = connect.ContinueWith(static t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        try
        {
            await connect.WaitAsync(linked.Token).ConfigureAwait(false);
            if (check is { Verdict: HostKeyVerdict.TrustedOnFirstUse })
                Log?.Invoke($"SSH {ep.Id}: trusted new host key {check.Presented} on first use; recorded in {ep.KnownHostsFile}.");
            Log?.Invoke($"SSH {ep.Id}: connected to {ep.User}@{ep.Host}:{ep.Port}, host key {check?.Presented}, key exchange {client.ConnectionInfo.CurrentKeyExchangeAlgorithm}.");
            return new Lease(client, keys, check!);
        }
        catch (Exception ex)
        {
            client.Dispose();
            foreach (var k in keys) k.Dispose();
            if (checkError is RelocationException rex) throw rex;
            if (check?.ToException(ep) is { } refused) throw refused;
            if (ex is OperationCanceledException && ct.IsCancellationRequested) throw;
            throw MapConnectFailure(ep, ex);
        }
    }

    /// <summary>
    /// Moves sntrup761x25519 to the end of the key exchange list. SSH.NET computes it in managed code: measured
    /// 180-230 ms of client CPU per connection against 40-70 ms for curve25519-sha256 (docs/benchmarks.md, SSH
    /// latency), and it is what an OpenSSH 9.x server picks first. ML-KEM hybrid (cheap, post-quantum) stays
    /// first for servers that offer it; every other algorithm keeps SSH.NET's order.
    /// </summary>
    internal static void PreferCheapKeyExchange(ConnectionInfo info)
    {
        var all = info.KeyExchangeAlgorithms.ToList();
        info.KeyExchangeAlgorithms.Clear();
        foreach (var (name, factory) in all.Where(k => !k.Key.StartsWith("sntrup761", StringComparison.Ordinal))
                     .Concat(all.Where(k => k.Key.StartsWith("sntrup761", StringComparison.Ordinal))))
            info.KeyExchangeAlgorithms.Add(name, factory);
    }

    private static RelocationException MapConnectFailure(SshEndpoint ep, Exception ex) => ex switch
    {
        SshAuthenticationException => new("SshAuthenticationFailed", FailureKind.AuthenticationError,
            $"Authentication as '{ep.User}' to {ep} was refused with key(s) {string.Join(", ", ep.PrivateKeyFiles)}: {ex.Message}", target: ep.Id, inner: ex),
        OperationCanceledException or SshOperationTimeoutException or SocketException { SocketErrorCode: SocketError.TimedOut } =>
            new("SshConnectFailed", FailureKind.OperationTimeout,
                $"Could not connect to {ep} within {ep.ConnectTimeout.TotalSeconds:0.#} s.", target: ep.Id, inner: ex),
        SocketException se => new("SshConnectFailed", FailureKind.ConnectionError,
            $"Could not connect to {ep}: {se.SocketErrorCode} ({se.Message}).", target: ep.Id, inner: ex),
        _ => new("SshConnectFailed", FailureKind.ConnectionError, $"Could not connect to {ep}: {ex.Message}", target: ep.Id, inner: ex),
    };

    private sealed record Lease(SshClient Client, List<PrivateKeyFile> Keys, HostKeyCheck HostKey)
    {
        public volatile bool FirstChannelOpened;

        public void Close()
        {
            try { Client.Dispose(); } catch (Exception) { /* already broken */ }
            foreach (var k in Keys) k.Dispose();
        }
    }

    private sealed class Slot
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public Lease? Current;

        public void Close()
        {
            Interlocked.Exchange(ref Current, null)?.Close();
        }

        public void Drop(Lease lease)
        {
            if (Interlocked.CompareExchange(ref Current, null, lease) == lease) lease.Close();
        }
    }
}
