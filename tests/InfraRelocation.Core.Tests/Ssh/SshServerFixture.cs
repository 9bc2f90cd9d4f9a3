using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using InfraRelocation.Core.Ssh;

namespace InfraRelocation.Core.Tests.Ssh;

/// <summary>
/// Real OpenSSH servers on 127.0.0.1 for tests: one temp dir with a user key authorised for the current
/// user, and any number of sshd instances (each its own port, host key, and — when running as root with
/// unshare — its own UTS hostname, /etc/hostname, /etc/hosts and machine-id inside a private mount
/// namespace, so hostname probes and changes never touch this machine). Tests call
/// <c>Skip.If(fixture.SkipReason is not null, fixture.SkipReason)</c>.
/// </summary>
public sealed class SshServerFixture : IDisposable
{
    /// <summary>The sshd binary; IR_TEST_SSHD overrides it (e.g. to check the skip path).</summary>
    public static readonly string Sshd = Environment.GetEnvironmentVariable("IR_TEST_SSHD") is { Length: > 0 } s ? s : "/usr/sbin/sshd";
    private readonly List<SshServerInstance> _instances = [];
    private SshServerInstance? _default;

    public SshServerFixture()
    {
        Root = Directory.CreateTempSubdirectory("ir-sshd-").FullName;
        UserName = Environment.UserName;
        UserKeyPath = Path.Combine(Root, "id_user");
        if (!File.Exists(Sshd)) { SkipReason = $"{Sshd} not found: install openssh-server to run the SSH tests."; return; }
        try
        {
            Keygen(UserKeyPath);
            File.Copy(UserKeyPath + ".pub", Path.Combine(Root, "authorized_keys"));
            IsolatesIdentity = Environment.GetEnvironmentVariable("IR_TEST_SSH_NO_NAMESPACE") != "1"
                && Environment.UserName == "root" && File.Exists("/usr/bin/unshare")
                && Run("/usr/bin/unshare", "--uts --mount /bin/true") == 0;
        }
        catch (Exception ex)
        {
            SkipReason = $"SSH test fixture could not be prepared: {ex.Message}";
            return;
        }
        try
        {
            _ = Default; // prove sshd can start here; otherwise every SSH test skips with the reason
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            SkipReason = $"sshd could not be started ({(IsolatesIdentity ? "in a private namespace" : "as " + UserName)}): {ex.Message}";
        }
    }

    /// <summary>Why the SSH tests cannot run here, or null.</summary>
    public string? SkipReason { get; private set; }
    /// <summary>True when instances run in their own UTS+mount namespace (hostname/machine-id tests need it).</summary>
    public bool IsolatesIdentity { get; }
    public string Root { get; }
    public string UserName { get; }
    public string UserKeyPath { get; }

    /// <summary>A shared instance for tests that do not break their server.</summary>
    public SshServerInstance Default => _default ??= Start("default", "hv-default", "00000000000000000000000000000d0f");

    /// <summary>Starts one sshd "host". Hostname/FQDN/machine-id apply only when <see cref="IsolatesIdentity"/>.</summary>
    /// <param name="rsaHostKey">Also serve an RSA host key (a host with several keys, as real ones have).</param>
    public SshServerInstance Start(string name, string? hostname = null, string? machineId = null, string? fqdn = null,
        bool machineIdOnlyInDbusPath = false, bool rsaHostKey = false)
    {
        if (SkipReason is not null) throw new InvalidOperationException(SkipReason);
        var dir = Directory.CreateDirectory(Path.Combine(Root, name)).FullName;
        var hostKey = Path.Combine(dir, "ssh_host_ed25519_key");
        if (!File.Exists(hostKey)) Keygen(hostKey);
        if (rsaHostKey && !File.Exists(Path.Combine(dir, "ssh_host_rsa_key")))
            Check(Run("/usr/bin/ssh-keygen", $"-q -t rsa -b 2048 -N \"\" -C ir-test -f {Path.Combine(dir, "ssh_host_rsa_key")}"), "ssh-keygen rsa");
        hostname ??= name;
        File.WriteAllText(Path.Combine(dir, "hostname"), hostname + "\n");
        File.WriteAllText(Path.Combine(dir, "machine-id"), (machineId ?? Guid.NewGuid().ToString("N")) + "\n");
        File.WriteAllText(Path.Combine(dir, "empty"), "");
        File.WriteAllText(Path.Combine(dir, "hosts"),
            $"127.0.0.1 localhost\n127.0.1.1 {(fqdn is null ? hostname : $"{fqdn} {hostname}")}\n");
        var instance = new SshServerInstance(this, name, dir, hostKey, machineIdOnlyInDbusPath);
        _instances.Add(instance);
        instance.Launch(FreePort());
        return instance;
    }

    /// <summary>An endpoint for <paramref name="s"/> with its host key pinned and the fixture's user key.</summary>
    public SshEndpoint Endpoint(SshServerInstance s, string? id = null) =>
        new(id ?? s.Name, "127.0.0.1", UserName, s.Port)
        {
            PrivateKeyFiles = [UserKeyPath],
            PinnedHostKeys = [s.HostKeyFingerprint],
            ConnectTimeout = TimeSpan.FromSeconds(5),
            CommandTimeout = TimeSpan.FromSeconds(30),
        };

    public void Dispose()
    {
        foreach (var i in _instances) i.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    internal static void Keygen(string path) =>
        Check(Run("/usr/bin/ssh-keygen", $"-q -t ed25519 -N \"\" -C ir-test -f {path}"), "ssh-keygen");

    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    internal static int Run(string file, string args, string? stdoutFile = null)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (stdoutFile is not null) File.WriteAllText(stdoutFile, output);
        return p.ExitCode;
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new InvalidOperationException($"{what} failed with exit code {rc}");
    }
}

/// <summary>One running sshd. Kill() drops it and every session (the whole process tree); Restart() brings it back on the same port.</summary>
public sealed class SshServerInstance : IDisposable
{
    private readonly SshServerFixture _fixture;
    private readonly string _hostKey;
    private readonly bool _dbusOnly;
    private Process? _process;

    internal SshServerInstance(SshServerFixture fixture, string name, string dir, string hostKey, bool dbusOnly)
    {
        _fixture = fixture;
        Name = name;
        Dir = dir;
        _hostKey = hostKey;
        _dbusOnly = dbusOnly;
        var fpFile = Path.Combine(dir, "fp");
        SshServerFixture.Run("/usr/bin/ssh-keygen", $"-l -E sha256 -f {hostKey}.pub", fpFile);
        HostKeyFingerprint = File.ReadAllText(fpFile).Split(' ')[1];
        var pub = File.ReadAllText(hostKey + ".pub").Split(' ');
        HostKeyType = pub[0];
        HostKeyBase64 = pub[1].Trim();
    }

    public string Name { get; }
    public string Dir { get; }
    public int Port { get; private set; }
    public string HostKeyFingerprint { get; }
    public string HostKeyType { get; }
    public string HostKeyBase64 { get; }
    /// <summary>The RSA key's known_hosts line, when started with an RSA host key.</summary>
    public string? RsaKnownHostsLine => File.Exists(Path.Combine(Dir, "ssh_host_rsa_key.pub"))
        ? $"[127.0.0.1]:{Port} " + string.Join(' ', File.ReadAllText(Path.Combine(Dir, "ssh_host_rsa_key.pub")).Split(' ')[..2])
        : null;
    /// <summary>The line a known_hosts file would hold for this server.</summary>
    public string KnownHostsLine => $"[127.0.0.1]:{Port} {HostKeyType} {HostKeyBase64}";
    public string LogPath => Path.Combine(Dir, "sshd.log");
    public string Log => File.Exists(LogPath) ? ReadShared(LogPath) : "";
    /// <summary>Connections this server authenticated so far (from its log).</summary>
    public int AcceptedConnections => Log.Split('\n').Count(l => l.Contains("Accepted publickey", StringComparison.Ordinal));
    public string HostnameFile => Path.Combine(Dir, "hostname");
    public bool IsRunning => _process is { HasExited: false };

    internal void Launch(int port)
    {
        Port = port;
        var cfg = Path.Combine(Dir, "sshd_config");
        File.WriteAllText(cfg, $"""
            ListenAddress 127.0.0.1
            Port {port}
            HostKey {_hostKey}
            {(File.Exists(Path.Combine(Dir, "ssh_host_rsa_key")) ? "HostKey " + Path.Combine(Dir, "ssh_host_rsa_key") : "")}
            PidFile {Path.Combine(Dir, "sshd.pid")}
            AuthorizedKeysFile {Path.Combine(_fixture.Root, "authorized_keys")}
            PermitRootLogin prohibit-password
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            MaxStartups 100:30:200
            LogLevel INFO

            """);
        ProcessStartInfo psi;
        if (_fixture.IsolatesIdentity)
        {
            // Inside a private UTS + mount namespace: a tmpfs /run (sshd's privsep dir; hides the system D-Bus
            // so hostnamectl cannot reach the real hostnamed), fixture files bound over the identity files.
            var id = Path.Combine(Dir, "machine-id");
            var script = string.Join(" && ", [
                "mount -t tmpfs -o mode=755 ir-run /run", "mkdir -m 755 /run/sshd",
                $"mount --bind {HostnameFile} /etc/hostname",
                $"mount --bind {Path.Combine(Dir, "hosts")} /etc/hosts",
                $"mount --bind {(_dbusOnly ? Path.Combine(Dir, "empty") : id)} /etc/machine-id",
                $"{{ [ ! -e /var/lib/dbus/machine-id ] || mount --bind {id} /var/lib/dbus/machine-id; }}",
                $"hostname \"$(cat {HostnameFile})\"",
                $"exec {SshServerFixture.Sshd} -D -e -f {cfg}"]);
            psi = new ProcessStartInfo("/usr/bin/unshare", ["--uts", "--mount", "--propagation", "private", "/bin/sh", "-c", script]);
        }
        else
        {
            psi = new ProcessStartInfo(SshServerFixture.Sshd, ["-D", "-e", "-f", cfg]);
        }
        psi.RedirectStandardError = true;
        psi.RedirectStandardOutput = true;
        var log = new StreamWriter(new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        WaitForBanner();
    }

    private void WaitForBanner()
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < until)
        {
            if (_process!.HasExited)
            {
                _process.WaitForExit(); // drains the redirected output into the log
                throw new InvalidOperationException($"sshd '{Name}' exited with {_process.ExitCode}: {Log.Trim()}");
            }
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                var buf = new byte[8];
                c.ReceiveTimeout = 2000;
                if (c.GetStream().Read(buf) > 0) return;
            }
            catch (SocketException) { }
            catch (IOException) { }
            Thread.Sleep(50);
        }
        throw new InvalidOperationException($"sshd '{Name}' did not answer on port {Port}: {Log}");
    }

    /// <summary>Kills the server and all its sessions at once (a dropped host).</summary>
    public void Kill()
    {
        if (_process is null) return;
        try { _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); } catch (InvalidOperationException) { }
        _process.Dispose();
        _process = null;
    }

    public void Restart()
    {
        Kill();
        Launch(Port);
    }

    public void Dispose() => Kill();

    private static string ReadShared(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(s).ReadToEnd();
    }
}

[CollectionDefinition(Name)]
public sealed class SshServerCollection : ICollectionFixture<SshServerFixture>
{
    public const string Name = "sshd";
}
