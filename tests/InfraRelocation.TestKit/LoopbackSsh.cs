using System.Diagnostics;

namespace InfraRelocation.TestKit;

/// <summary>
/// Real OpenSSH servers on 127.0.0.1, the one sshd launcher of the xUnit fixture (SshServerFixture) and the Pester
/// one (tests/Pester/SshFixture.ps1): one temp folder with a user key authorised for the current user, and any number
/// of sshd instances, each with its own port, host key and log, started with <see cref="ServerProcess"/>. As root with
/// unshare, each runs in its own UTS + mount namespace where its own files are bound over /etc/hostname, /etc/hosts
/// and /etc/machine-id (and a tmpfs over /run hides the system D-Bus), so hostname probes and changes are real but
/// never reach this machine. IR_TEST_SSHD overrides the sshd binary (e.g. to check the skip path);
/// IR_TEST_SSH_NO_NAMESPACE=1 turns the namespaces off.
/// </summary>
public sealed class LoopbackSshServers : IDisposable
{
    private readonly List<LoopbackSshServer> _servers = [];

    public static string Sshd { get; } = Environment.GetEnvironmentVariable("IR_TEST_SSHD") is { Length: > 0 } s ? s : "/usr/sbin/sshd";
    private const string Keygen = "/usr/bin/ssh-keygen";

    /// <summary>Why sshd cannot run here (a missing binary), or null.</summary>
    public static string? Unavailable() =>
        !File.Exists(Sshd) ? $"{Sshd} not found: install openssh-server."
        : !File.Exists(Keygen) ? $"{Keygen} not found: install openssh-client."
        : null;

    /// <summary>Prepares the folder and the user key; throws <see cref="TestServerUnavailableException"/> when sshd cannot run here.</summary>
    public LoopbackSshServers()
    {
        if (Unavailable() is { } why) throw new TestServerUnavailableException(why);
        Root = Directory.CreateTempSubdirectory("ir-sshd-").FullName;
        UserName = Environment.UserName;
        UserKeyPath = Path.Combine(Root, "id_user");
        NewKey(UserKeyPath, "ed25519");
        File.Copy(UserKeyPath + ".pub", AuthorizedKeys);
        IsolatesIdentity = CanIsolate();
    }

    /// <summary>Whether servers can get private UTS + mount namespaces here (root with a working unshare).</summary>
    public static bool CanIsolate() =>
        Environment.GetEnvironmentVariable("IR_TEST_SSH_NO_NAMESPACE") != "1"
        && Environment.UserName == "root" && File.Exists("/usr/bin/unshare")
        && Run("/usr/bin/unshare", ["--uts", "--mount", "/bin/true"]).ExitCode == 0;

    public string Root { get; }
    public string UserName { get; }
    /// <summary>The private key every server accepts (its .pub is in <see cref="AuthorizedKeys"/>).</summary>
    public string UserKeyPath { get; }
    public string AuthorizedKeys => Path.Combine(Root, "authorized_keys");
    /// <summary>True when servers run in their own UTS + mount namespace (hostname and machine-id tests need it).</summary>
    public bool IsolatesIdentity { get; }
    public IReadOnlyList<LoopbackSshServer> Servers => _servers;

    /// <summary>
    /// Starts one sshd "host" (on <paramref name="port"/>, or a free one) and waits for its banner. Hostname, FQDN
    /// and machine-id apply only when <see cref="IsolatesIdentity"/>. Starting a name again reuses its host key.
    /// </summary>
    /// <param name="machineIdOnlyInDbusPath">/etc/machine-id is empty; only /var/lib/dbus/machine-id holds the id.</param>
    /// <param name="rsaHostKey">Also serve an RSA host key (a host with several keys, as real ones have).</param>
    public LoopbackSshServer Start(string name, string? hostname = null, string? machineId = null, string? fqdn = null,
        bool machineIdOnlyInDbusPath = false, bool rsaHostKey = false, int port = 0)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[A-Za-z0-9._-]+$"))
            throw new ArgumentException($"server name '{name}': letters, digits, '.', '_' and '-'", nameof(name));
        var dir = Directory.CreateDirectory(Path.Combine(Root, name)).FullName;
        var hostKey = Path.Combine(dir, "ssh_host_ed25519_key");
        if (!File.Exists(hostKey)) NewKey(hostKey, "ed25519");
        var rsaKey = Path.Combine(dir, "ssh_host_rsa_key");
        if (rsaHostKey && !File.Exists(rsaKey)) NewKey(rsaKey, "rsa");
        hostname ??= name;
        machineId = (machineId ?? Guid.NewGuid().ToString("N")).ToLowerInvariant();
        File.WriteAllText(Path.Combine(dir, "hostname"), hostname + "\n");
        File.WriteAllText(Path.Combine(dir, "machine-id"), machineId + "\n");
        File.WriteAllText(Path.Combine(dir, "empty"), "");
        File.WriteAllText(Path.Combine(dir, "hosts"), $"127.0.0.1 localhost\n127.0.1.1 {(fqdn is null ? hostname : $"{fqdn} {hostname}")}\n");
        var fingerprint = Run(Keygen, ["-l", "-E", "sha256", "-f", hostKey + ".pub"]).Stdout.Split(' ')[1];
        var server = new LoopbackSshServer(this, name, dir, hostname, machineId, fingerprint, machineIdOnlyInDbusPath);
        server.Launch(port == 0 ? ServerProcess.FreeLoopbackPort() : port);
        _servers.Add(server);
        return server;
    }

    /// <summary>Stops every server (by pid) and deletes the folder.</summary>
    public void Dispose()
    {
        foreach (var s in _servers) s.Dispose();
        _servers.Clear();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void NewKey(string path, string type)
    {
        string[] size = type == "rsa" ? ["-b", "2048"] : [];
        var r = Run(Keygen, ["-q", "-t", type, .. size, "-N", "", "-C", "ir-test", "-f", path]);
        if (r.ExitCode != 0) throw new TestServerUnavailableException($"ssh-keygen -t {type} failed ({r.ExitCode}): {r.Stderr.Trim()}");
    }

    internal static (int ExitCode, string Stdout, string Stderr) Run(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new TestServerUnavailableException($"could not start {file}");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}

/// <summary>One running sshd. <see cref="Kill"/> drops it and every session (its process tree); <see cref="Restart"/> brings it back on the same port.</summary>
public sealed class LoopbackSshServer : IDisposable
{
    private readonly LoopbackSshServers _set;
    private readonly bool _machineIdOnlyInDbusPath;
    private ServerProcess? _process;

    internal LoopbackSshServer(LoopbackSshServers set, string name, string dir, string hostname, string machineId, string fingerprint,
        bool machineIdOnlyInDbusPath)
    {
        _set = set;
        _machineIdOnlyInDbusPath = machineIdOnlyInDbusPath;
        Name = name;
        Dir = dir;
        Hostname = hostname;
        MachineId = machineId;
        HostKeyFingerprint = fingerprint;
        var pub = File.ReadAllText(HostKeyPath + ".pub").Split(' ');
        HostKeyType = pub[0];
        HostKeyBase64 = pub[1].Trim();
    }

    public string Name { get; }
    public string Dir { get; }
    public string Host => "127.0.0.1";
    public int Port { get; private set; }
    public string Hostname { get; }
    public string MachineId { get; }
    public string HostKeyPath => Path.Combine(Dir, "ssh_host_ed25519_key");
    public string HostKeyFingerprint { get; }
    public string HostKeyType { get; }
    public string HostKeyBase64 { get; }
    /// <summary>The line a known_hosts file would hold for this server.</summary>
    public string KnownHostsLine => $"[127.0.0.1]:{Port} {HostKeyType} {HostKeyBase64}";
    /// <summary>The RSA key's known_hosts line, when started with an RSA host key.</summary>
    public string? RsaKnownHostsLine => File.Exists(Path.Combine(Dir, "ssh_host_rsa_key.pub"))
        ? $"[127.0.0.1]:{Port} " + string.Join(' ', File.ReadAllText(Path.Combine(Dir, "ssh_host_rsa_key.pub")).Split(' ')[..2])
        : null;
    public string HostnameFile => Path.Combine(Dir, "hostname");
    public string LogPath => Path.Combine(Dir, "sshd.log");
    public string Log => File.Exists(LogPath) ? ReadShared(LogPath) : "";
    /// <summary>Connections this server authenticated so far (from its log).</summary>
    public int AcceptedConnections => Log.Split('\n').Count(l => l.Contains("Accepted publickey", StringComparison.Ordinal));
    public bool IsolatesIdentity => _set.IsolatesIdentity;
    public bool IsRunning => _process is { HasExited: false };
    /// <summary>The sshd listener's process (its pid is the server's own).</summary>
    public Process? Process => _process?.Process;

    internal void Launch(int port)
    {
        Port = port;
        var cfg = Path.Combine(Dir, "sshd_config");
        var rsa = Path.Combine(Dir, "ssh_host_rsa_key");
        File.WriteAllLines(cfg, [
            "ListenAddress 127.0.0.1", $"Port {port}", $"HostKey {HostKeyPath}",
            .. (File.Exists(rsa) ? new[] { $"HostKey {rsa}" } : []),
            $"PidFile {Path.Combine(Dir, "sshd.pid")}", $"AuthorizedKeysFile {_set.AuthorizedKeys}",
            "PermitRootLogin prohibit-password", "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "MaxStartups 100:30:200", "LogLevel INFO",
            // Bash started by sshd sources the user's ~/.bashrc only as the first shell level; SHLVL=1 makes it the
            // second. That file belongs to whoever runs the tests, not to the host being modelled: where root's .bashrc
            // initialised pyenv, each command started about 100 processes, and a preflight's 11 sessions on one server,
            // queued on pyenv's rehash lock, ran past their 20 s timeout.
            "SetEnv SHLVL=1"]);
        if (_set.IsolatesIdentity)
        {
            // Inside a private UTS + mount namespace: a tmpfs /run (sshd's privsep dir; hides the system D-Bus so
            // hostnamectl cannot reach the real hostnamed), this server's files bound over the identity files. unshare
            // and sh exec, so the pid ServerProcess keeps is sshd's own.
            var id = Path.Combine(Dir, "machine-id");
            var script = string.Join(" && ", [
                "mount -t tmpfs -o mode=755 ir-run /run", "mkdir -m 755 /run/sshd",
                $"mount --bind {HostnameFile} /etc/hostname",
                $"mount --bind {Path.Combine(Dir, "hosts")} /etc/hosts",
                $"mount --bind {(_machineIdOnlyInDbusPath ? Path.Combine(Dir, "empty") : id)} /etc/machine-id",
                $"{{ [ ! -e /var/lib/dbus/machine-id ] || mount --bind {id} /var/lib/dbus/machine-id; }}",
                $"hostname \"$(cat {HostnameFile})\"",
                $"exec {LoopbackSshServers.Sshd} -D -e -f {cfg}"]);
            _process = ServerProcess.Start("/usr/bin/unshare", ["--uts", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
                LogPath, port, TimeSpan.FromSeconds(15));
        }
        else
        {
            _process = ServerProcess.Start(LoopbackSshServers.Sshd, ["-D", "-e", "-f", cfg], LogPath, port, TimeSpan.FromSeconds(15));
        }
    }

    /// <summary>Kills the server and all its sessions at once (a dropped host).</summary>
    public void Kill()
    {
        if (_process is null) return;
        try { _process.Process.Kill(entireProcessTree: true); _process.Process.WaitForExit(5000); } catch (InvalidOperationException) { }
        _process.Process.Dispose();
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
