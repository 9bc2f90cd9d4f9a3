using System.Diagnostics;
using System.Text;

namespace InfraRelocation.TestKit;

/// <summary>The result of a command run on a test machine through the OpenSSH client.</summary>
public sealed record MachineCommandResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// One real Debian 12 machine: <c>systemd-nspawn --boot</c> (systemd as PID 1) on its own overlay of the cached
/// <see cref="DebianImage"/>, with its own hostname, machine-id and SSH host key, sharing the host's network;
/// sshd listens on its own free loopback port, the busybox health endpoint on another. The overlay is mounted in
/// a private mount namespace (<c>unshare -m</c>), so it disappears with the machine. Dispose powers it off
/// (SIGTERM to nspawn: an orderly shutdown), then kills what is left of its process tree, by pid.
/// </summary>
public sealed class TestMachine : IDisposable
{
    private readonly ServerProcess _server;

    private TestMachine(ServerProcess server, string name, string hostname, string machineId, string directory, string userKeyPath,
        string hostKeyFingerprint, string knownHostsLine, int healthPort)
    {
        _server = server;
        Name = name;
        Hostname = hostname;
        MachineId = machineId;
        Directory = directory;
        UserKeyPath = userKeyPath;
        HostKeyFingerprint = hostKeyFingerprint;
        KnownHostsLine = knownHostsLine;
        HealthPort = healthPort;
    }

    public string Name { get; }
    public string Hostname { get; }
    public string MachineId { get; }
    public string Host => "127.0.0.1";
    public int Port => _server.Port;
    public int Pid => _server.Pid;
    /// <summary>The machine's folder: upper (its changes), files prepared for it, keys, console log.</summary>
    public string Directory { get; }
    public string UserKeyPath { get; }
    public string HostKeyFingerprint { get; }
    public string KnownHostsLine { get; }
    public int HealthPort { get; }
    public string HealthUrl => $"http://127.0.0.1:{HealthPort}/health";
    public string LogPath => _server.LogPath;
    public TimeSpan BootTime { get; private set; }
    public bool IsRunning => !_server.HasExited;

    /// <summary>
    /// Boots a machine and waits until sshd answers and systemd reports the boot finished. <paramref name="userKeyPath"/>:
    /// a private key whose <c>.pub</c> is authorized for root, <see cref="DebianImage.SudoUser"/> and
    /// <see cref="DebianImage.PasswordSudoUser"/>. Throws <see cref="TestServerUnavailableException"/> with the
    /// reason when machines cannot run here (tests skip with it).
    /// </summary>
    public static TestMachine Start(string name, string userKeyPath, string? hostname = null, string? machineId = null,
        string? parentDirectory = null, TimeSpan? bootTimeout = null)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z0-9][a-z0-9-]{0,30}$"))
            throw new ArgumentException($"machine name '{name}': lower-case letters, digits and '-'", nameof(name));
        hostname ??= name;
        machineId = (machineId ?? Guid.NewGuid().ToString("N")).ToLowerInvariant();
        var rootfs = DebianImage.Ensure();
        var sw = Stopwatch.StartNew();
        var dir = Path.Combine(parentDirectory ?? Path.GetTempPath(), $"ir-machine-{name}-{Guid.NewGuid().ToString("N")[..8]}");
        var files = Path.Combine(dir, "files");
        foreach (var d in new[] { "upper", "work", "root", "files" }) System.IO.Directory.CreateDirectory(Path.Combine(dir, d));

        var port = ServerProcess.FreeLoopbackPort();
        var healthPort = ServerProcess.FreeLoopbackPort();
        var hostKey = Path.Combine(files, "ssh_host_ed25519_key");
        Tool("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", $"{name}-host", "-f", hostKey);
        var authorized = File.ReadAllText(userKeyPath + ".pub").Trim() + "\n";
        File.WriteAllText(Path.Combine(files, "authorized_keys"), authorized);
        File.WriteAllText(Path.Combine(files, "hostname"), hostname + "\n");
        File.WriteAllText(Path.Combine(files, "machine-id"), machineId + "\n");
        File.WriteAllText(Path.Combine(files, "hosts"), $"127.0.0.1 localhost\n127.0.1.1 {hostname}\n");
        File.WriteAllText(Path.Combine(files, "ir-test.conf"),
            $"Port {port}\nListenAddress 127.0.0.1\nHostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n" +
            "PermitRootLogin prohibit-password\nUseDNS no\nGSSAPIAuthentication no\nMaxStartups 100:30:200\n");
        File.WriteAllText(Path.Combine(files, "ir-health"), $"IR_HEALTH_PORT={healthPort}\n");

        // Runs in the private mount namespace: enter the machine's own control groups, mount the overlay, place
        // this machine's files, boot.
        var r = Path.Combine(dir, "root");
        var setup = new StringBuilder()
            .Append("set -e; ")
            .Append($"for h in {string.Join(' ', CgroupHierarchies)}; do if [ -e $h/cgroup.procs ]; then mkdir -p $h/{Path.GetFileName(dir)}; echo $$ > $h/{Path.GetFileName(dir)}/cgroup.procs; fi; done; ")
            .Append($"mount -t overlay ir-machine -o lowerdir={rootfs},upperdir={dir}/upper,workdir={dir}/work {r}; ")
            .Append($"install -m 0600 {hostKey} {r}/etc/ssh/ssh_host_ed25519_key; install -m 0644 {hostKey}.pub {r}/etc/ssh/ssh_host_ed25519_key.pub; ")
            .Append($"install -m 0644 {files}/ir-test.conf {r}/etc/ssh/sshd_config.d/ir-test.conf; ")
            .Append($"install -m 0644 {files}/hostname {r}/etc/hostname; install -m 0444 {files}/machine-id {r}/etc/machine-id; ")
            .Append($"install -m 0644 {files}/hosts {r}/etc/hosts; install -m 0644 {files}/ir-health {r}/etc/default/ir-health; ")
            .Append($"for u in root {DebianImage.SudoUser} {DebianImage.PasswordSudoUser}; do ")
            .Append($"h=$(chroot {r} getent passwd $u | cut -d: -f6); install -d -m 0700 {r}$h/.ssh; ")
            .Append($"install -m 0600 {files}/authorized_keys {r}$h/.ssh/authorized_keys; chroot {r} chown -R $u: $h/.ssh; done; ")
            .Append("exec /usr/bin/systemd-nspawn \"$@\"")
            .ToString();
        var args = new List<string>
        {
            "--mount", "--propagation", "private", "/bin/sh", "-c", setup, "nspawn",
            "--quiet", "--boot", "--register=no", "--keep-unit", "--directory=" + r, "--machine=" + name, "--hostname=" + hostname,
            "--uuid=" + machineId, "--console=read-only", "--link-journal=no", "--resolv-conf=copy-host", "--timezone=off",
        };
        var timeout = bootTimeout ?? TimeSpan.FromSeconds(180);
        ServerProcess server;
        try
        {
            server = ServerProcess.Start("/usr/bin/unshare", args, Path.Combine(dir, "console.log"), port, timeout);
        }
        catch (TestServerUnavailableException ex)
        {
            throw new TestServerUnavailableException($"Debian machine '{name}' did not boot (systemd-nspawn --boot): {ex.Message}");
        }
        var fp = Tool("/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", hostKey + ".pub").Split(' ')[1];
        var pub = File.ReadAllText(hostKey + ".pub").Trim().Split(' ');
        var machine = new TestMachine(server, name, hostname, machineId, dir, userKeyPath, fp, $"[127.0.0.1]:{port} {pub[0]} {pub[1]}", healthPort);
        // sshd answers before the boot has finished: wait for systemd (running, or degraded when some unit failed).
        var state = machine.Run("timeout 120 systemctl is-system-running --wait", timeout: TimeSpan.FromSeconds(150));
        if (state.Stdout.Trim() is not ("running" or "degraded"))
        {
            machine.Dispose();
            throw new TestServerUnavailableException($"Debian machine '{name}' did not finish booting: is-system-running said '{state.Stdout.Trim()}' {state.Stderr.Trim()}");
        }
        machine.BootTime = sw.Elapsed;
        return machine;
    }

    /// <summary>
    /// Runs a command on the machine with the OpenSSH client (independent of the module's SSH code: tests use it
    /// to look at the machine), as <paramref name="user"/>.
    /// </summary>
    public MachineCommandResult Run(string command, string user = "root", TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo("/usr/bin/ssh")
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        foreach (var a in new[] { "-F", "/dev/null", "-i", UserKeyPath, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                     "-o", "ConnectTimeout=20", $"{user}@127.0.0.1", command })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(120)))
        {
            p.Kill(entireProcessTree: true);
            return new MachineCommandResult(-1, stdout.Result, "timed out: " + stderr.Result);
        }
        return new MachineCommandResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Removes a control group the machine left behind, deepest first (only empty groups can go).</summary>
    private static void RemoveEmptyGroups(string group)
    {
        if (!System.IO.Directory.Exists(group)) return;
        foreach (var child in System.IO.Directory.GetDirectories(group)) RemoveEmptyGroups(child);
        try { System.IO.Directory.Delete(group); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { /* still has a process: left as it is */ }
    }

    /// <summary>Starts a command on the machine and returns at once (e.g. an apt-get that holds the lock); kill it with the returned process.</summary>
    public Process RunInBackground(string command, string user = "root")
    {
        var psi = new ProcessStartInfo("/usr/bin/ssh") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-F", "/dev/null", "-i", UserKeyPath, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                     $"{user}@127.0.0.1", command })
            psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>
    /// Where systemd keeps track of units: on a host without systemd, <c>--keep-unit</c> boots the machine in the
    /// control group nspawn runs in. Machines that shared one would share their units' groups too (one machine's
    /// <c>systemctl stop x</c> kills, then removes, the group of the other's unit <c>x</c>: "Failed to kill control
    /// group ... Input/output error", then status=219/CGROUP on its next start), so each machine gets its own:
    /// the named systemd hierarchy and the unified one of a hybrid host, or the unified root of a cgroup2-only host.
    /// </summary>
    private static readonly string[] CgroupHierarchies = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"];

    public void Dispose()
    {
        // nspawn turns SIGTERM into an orderly poweroff of the machine (SIGRTMIN+3 to its systemd).
        _server.Stop(TimeSpan.FromSeconds(30));
        _server.Dispose();
        foreach (var hierarchy in CgroupHierarchies) RemoveEmptyGroups(Path.Combine(hierarchy, Path.GetFileName(Directory)));
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { /* left in the temp folder */ }
    }

    private static string Tool(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEnd();
        var e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new TestServerUnavailableException($"{file} failed ({p.ExitCode}): {e}");
        return o.Trim();
    }
}

/// <summary>
/// A set of machines sharing one generated user key; Dispose stops them all. <see cref="Unavailable"/> is the
/// reason machines cannot run here (tests skip with it).
/// </summary>
public sealed class TestMachineSet : IDisposable
{
    private readonly List<TestMachine> _machines = [];

    public TestMachineSet(string? directory = null)
    {
        Directory = directory ?? Path.Combine(Path.GetTempPath(), $"ir-machines-{Guid.NewGuid().ToString("N")[..8]}");
        System.IO.Directory.CreateDirectory(Directory);
        UserKeyPath = Path.Combine(Directory, "id_user");
        if (!File.Exists(UserKeyPath))
        {
            var psi = new ProcessStartInfo("/usr/bin/ssh-keygen") { UseShellExecute = false, RedirectStandardOutput = true };
            foreach (var a in new[] { "-q", "-t", "ed25519", "-N", "", "-C", "ir-test", "-f", UserKeyPath }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
        }
    }

    public string Directory { get; }
    public string UserKeyPath { get; }
    public IReadOnlyList<TestMachine> Machines => _machines;

    /// <summary>Null when machines can be started here; else why not (no root, a tool missing). Booting may still fail: Start says why.</summary>
    public static string? Unavailable() => DebianImage.Unavailable();

    public TestMachine Start(string name, string? hostname = null, string? machineId = null)
    {
        var m = TestMachine.Start(name, UserKeyPath, hostname, machineId, Directory);
        _machines.Add(m);
        return m;
    }

    public void Dispose()
    {
        foreach (var m in _machines) m.Dispose();
        _machines.Clear();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }
}
