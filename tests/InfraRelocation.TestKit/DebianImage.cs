using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace InfraRelocation.TestKit;

/// <summary>
/// The root filesystem every test machine boots: Debian 12 (bookworm), minbase plus systemd, D-Bus, OpenSSH and
/// sudo, built with mmdebstrap from Debian's registry once and cached outside the repository under
/// <see cref="CacheRoot"/>, in a folder named by a digest of this recipe (change the recipe, get a new image).
/// </summary>
public static class DebianImage
{
    public const string Suite = "bookworm";

    /// <summary>Installed in the image. busybox serves the health endpoint; procps gives pgrep (readiness checks).</summary>
    public static readonly IReadOnlyList<string> Packages =
        ["systemd", "systemd-sysv", "dbus", "openssh-server", "sudo", "procps", "busybox"];

    /// <summary>Downloaded into the image's apt cache, not installed: bootstraps install them without the network.</summary>
    public static readonly IReadOnlyList<string> CachedPackages = ["cron", "at"];

    /// <summary>The login users besides root: <c>ops</c> has passwordless sudo, <c>askpw</c> a sudo that asks for a password.</summary>
    public const string SudoUser = "ops";
    public const string PasswordSudoUser = "askpw";

    /// <summary>Runs in the new root (<c>$1</c>) after the packages are installed (mmdebstrap's customize hook).</summary>
    public static readonly string CustomizeScript = $$"""
        set -eu
        R="$1"
        chroot "$R" apt-get install -y -q --download-only {{string.Join(' ', CachedPackages)}}
        chroot "$R" useradd -m -s /bin/bash {{SudoUser}}
        chroot "$R" useradd -m -s /bin/bash {{PasswordSudoUser}}
        echo '{{PasswordSudoUser}}:unused-test-password' | chroot "$R" chpasswd
        printf '%s ALL=(ALL) NOPASSWD:ALL\n' {{SudoUser}} > "$R/etc/sudoers.d/{{SudoUser}}"
        printf '%s ALL=(ALL) ALL\n' {{PasswordSudoUser}} > "$R/etc/sudoers.d/{{PasswordSudoUser}}"
        chmod 0440 "$R/etc/sudoers.d/{{SudoUser}}" "$R/etc/sudoers.d/{{PasswordSudoUser}}"
        mkdir -p "$R/srv/health"
        printf 'ok\n' > "$R/srv/health/health"
        cat > "$R/etc/systemd/system/ir-health.service" <<'UNIT'
        [Unit]
        Description=Test health endpoint (busybox httpd on the port in /etc/default/ir-health)
        [Service]
        EnvironmentFile=/etc/default/ir-health
        ExecStart=/bin/busybox httpd -f -p 127.0.0.1:${IR_HEALTH_PORT} -h /srv/health
        [Install]
        WantedBy=multi-user.target
        UNIT
        cat > "$R/etc/systemd/system/ir-broken.service" <<'UNIT'
        [Unit]
        Description=A unit that always fails to start (bad-input tests)
        [Service]
        Type=oneshot
        ExecStart=/bin/false
        RemainAfterExit=yes
        [Install]
        WantedBy=multi-user.target
        UNIT
        chroot "$R" systemctl enable ir-health.service
        # No console login; no timers that would take the apt lock or change anything while a test runs.
        chroot "$R" systemctl mask console-getty.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer
        rm -f "$R"/etc/ssh/ssh_host_*
        : > "$R/etc/machine-id"
        """;

    public static string Mirror => Environment.GetEnvironmentVariable("IR_DEBIAN_MIRROR") is { Length: > 0 } m ? m : "http://deb.debian.org/debian";

    /// <summary>Where images are cached: <c>IR_MACHINE_CACHE</c>, else /var/cache/infrarelocation.</summary>
    public static string CacheRoot => Environment.GetEnvironmentVariable("IR_MACHINE_CACHE") is { Length: > 0 } c ? c : "/var/cache/infrarelocation";

    private static IReadOnlyList<string> MmdebstrapArguments(string target, string hookFile) =>
    [
        "--variant=minbase", "--include=" + string.Join(',', Packages),
        // Keep apt's lists and downloaded packages: bootstrap installs CachedPackages from them.
        "--skip=cleanup/apt", "--customize-hook=sh " + hookFile + " \"$1\"",
        Suite, target, Mirror,
    ];

    /// <summary>First 16 hex digits of SHA-256 over the recipe (arguments and customize script).</summary>
    public static string Digest
    {
        get
        {
            var recipe = string.Join('\n', MmdebstrapArguments("ROOT", "HOOK")) + "\n" + CustomizeScript;
            return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(recipe)))[..16].ToLowerInvariant();
        }
    }

    public static string ImageDirectory => Path.Combine(CacheRoot, $"debian-{Suite}-{Digest}");
    public static string RootFs => Path.Combine(ImageDirectory, "rootfs");

    /// <summary>Why machines cannot run here (not root, a tool missing), or null. Booting may still fail later.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "test machines need Linux (systemd-nspawn).";
        if (Environment.UserName != "root") return "test machines need root (systemd-nspawn, mmdebstrap, overlay mounts).";
        foreach (var (tool, package) in new[] { ("/usr/bin/systemd-nspawn", "systemd-container"), ("/usr/bin/mmdebstrap", "mmdebstrap"),
                     ("/usr/bin/unshare", "util-linux"), ("/usr/bin/ssh-keygen", "openssh-client"), ("/usr/bin/ssh", "openssh-client") })
            if (!File.Exists(tool)) return $"{tool} not found: install {package}.";
        if (!File.ReadAllText("/proc/filesystems").Contains("overlay", StringComparison.Ordinal)) return "the kernel has no overlay filesystem.";
        return null;
    }

    /// <summary>
    /// The cached root filesystem, built first if missing (one builder at a time across processes: a lock file;
    /// built in a temporary folder and renamed into place, so a half-built image is never used).
    /// </summary>
    public static string Ensure(TimeSpan? timeout = null)
    {
        if (Unavailable() is { } why) throw new TestServerUnavailableException(why);
        var done = Path.Combine(ImageDirectory, "built");
        if (File.Exists(done)) return RootFs;
        Directory.CreateDirectory(CacheRoot);
        using var lockFile = AcquireLock(Path.Combine(CacheRoot, $"debian-{Suite}-{Digest}.lock"), timeout ?? TimeSpan.FromMinutes(30));
        if (File.Exists(done)) return RootFs;

        var work = ImageDirectory + ".building";
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        Directory.CreateDirectory(work);
        var hook = Path.Combine(work, "customize.sh");
        File.WriteAllText(hook, CustomizeScript.ReplaceLineEndings("\n") + "\n");
        var log = Path.Combine(work, "mmdebstrap.log");
        var sw = Stopwatch.StartNew();
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >>\"$IR_LOG\" 2>&1");
        psi.ArgumentList.Add("/usr/bin/mmdebstrap");
        foreach (var a in MmdebstrapArguments(Path.Combine(work, "rootfs"), hook)) psi.ArgumentList.Add(a);
        psi.Environment["IR_LOG"] = log;
        using (var p = Process.Start(psi)!)
        {
            if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(30)))
            {
                p.Kill(entireProcessTree: true);
                throw new TestServerUnavailableException($"mmdebstrap did not finish in time; log: {log}");
            }
            if (p.ExitCode != 0)
                throw new TestServerUnavailableException($"mmdebstrap failed with exit code {p.ExitCode}: {Tail(log)}");
        }
        File.WriteAllText(Path.Combine(work, "built"), $"built in {sw.Elapsed.TotalSeconds:0} s at {DateTime.UtcNow:O}\n");
        if (Directory.Exists(ImageDirectory)) Directory.Delete(ImageDirectory, recursive: true);
        Directory.Move(work, ImageDirectory);
        return RootFs;
    }

    private static FileStream AcquireLock(string path, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (sw.Elapsed < timeout) { Thread.Sleep(1000); }
        }
    }

    internal static string Tail(string path, int lines = 15)
    {
        try
        {
            var all = File.ReadAllLines(path);
            return string.Join("\n", all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException) { return "(no log)"; }
    }
}
