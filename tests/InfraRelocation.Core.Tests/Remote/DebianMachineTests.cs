using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Model;
using InfraRelocation.Remote;
using InfraRelocation.TestKit;

namespace InfraRelocation.Core.Tests.Remote;

/// <summary>
/// Two real Debian 12 machines (systemd as PID 1 under systemd-nspawn, see TestKit/TestMachine.cs), booted once for
/// the collection: <c>vm-root</c> is reached as root, <c>vm-sudo</c> as the passwordless-sudo user <c>ops</c>.
/// When machines cannot run here, <see cref="SkipReason"/> says why and every test skips with it.
/// </summary>
public sealed class DebianMachineFixture : IDisposable
{
    private readonly TestMachineSet? _set;

    public DebianMachineFixture()
    {
        SkipReason = TestMachineSet.Unavailable();
        if (SkipReason is not null) return;
        _set = new TestMachineSet();
        try
        {
            Root = _set.Start("vm-root");
            Sudo = _set.Start("vm-sudo");
        }
        catch (TestServerUnavailableException ex)
        {
            SkipReason = ex.Message;
        }
    }

    public string? SkipReason { get; }
    public TestMachine Root { get; } = null!;
    public TestMachine Sudo { get; } = null!;

    public SshEndpoint Endpoint(TestMachine m, string user = "root") =>
        new(m.Name, m.Host, user, m.Port)
        {
            PrivateKeyFiles = [_set!.UserKeyPath],
            PinnedHostKeys = [m.HostKeyFingerprint],
            ConnectTimeout = TimeSpan.FromSeconds(20),
            CommandTimeout = TimeSpan.FromMinutes(5),
        };

    public void Dispose() => _set?.Dispose();
}

[CollectionDefinition(Name)]
public sealed class DebianMachineCollection : ICollectionFixture<DebianMachineFixture>
{
    public const string Name = "debian-machines";
}

/// <summary>Bootstrap against the real machines: apt from Debian's registry (cached in the image), systemctl, crontab.</summary>
[Collection(DebianMachineCollection.Name)]
public sealed class DebianMachineTests(DebianMachineFixture fx)
{
    private static VmProfile Profile(string name, BootstrapSettings b) => new() { Name = name, Bootstrap = b };

    private static BootstrapSettings Baseline(params string[] packages) => new()
    {
        Packages = packages, ServicesEnable = ["cron"], RequireDockerRunning = false, RequireQemuAgentRunning = false, RequireTailscaleConnected = true,
        CronHooks = [new CronHook { Name = "heartbeat", Schedule = "*/5 * * * *", Command = "/bin/true", Required = true }],
    };

    private static string States(IEnumerable<BootstrapStepResult> rows) => string.Join(", ", rows.Select(r => $"{r.Step}={r.State} ({r.Evidence})"));

    private void SkipIfNoMachines() => Skip.If(fx.SkipReason is not null, fx.SkipReason);

    [SkippableTheory]
    [InlineData("root")]
    [InlineData("ops")]
    public async Task Bootstrap_InstallsEnablesAndHooksForReal_AndASecondRunChangesNothing(string user)
    {
        SkipIfNoMachines();
        var machine = user == "root" ? fx.Root : fx.Sudo;
        var ep = fx.Endpoint(machine, user);
        var steps = BootstrapPlanner.Plan(Profile("base", Baseline("cron")), machine.Hostname, user);
        var before = machine.Run("dpkg-query -W -f='${Package} ${Status}\\n' | sort").Stdout;
        using var pool = new SshSessionPool();
        var first = await new BootstrapExecutor(pool).RunAsync(ep, machine.Hostname, steps, authKey: null);
        Assert.True(first.All(r => r.State is BootstrapStepState.Done or BootstrapStepState.Unchanged or BootstrapStepState.NotApplicable), States(first));

        // What the machine itself says, read with the OpenSSH client, not with the code under test.
        Assert.Equal("install ok installed", machine.Run("dpkg-query -W -f='${Status}' cron").Stdout);
        Assert.Equal("enabled\nactive\n", machine.Run("systemctl is-enabled cron; systemctl is-active cron").Stdout);
        Assert.Contains("*/5 * * * * /bin/true # infra-relocation:base/heartbeat", machine.Run("crontab -l").Stdout);
        Assert.NotEqual(before, machine.Run("dpkg-query -W -f='${Package} ${Status}\\n' | sort").Stdout);
        // The mesh step ran its check and said why it does not apply: no tailscale on the machine.
        var mesh = Assert.Single(first, r => r.Step == "mesh:tailscale");
        Assert.Equal(BootstrapStepState.NotApplicable, mesh.State);
        if (user != "root") Assert.Equal(BootstrapStepState.Unchanged, first[0].State); // access:sudo

        var second = await new BootstrapExecutor(pool).RunAsync(ep, machine.Hostname, steps, authKey: null);
        Assert.All(second.Where(r => r.Step != "mesh:tailscale"), r => Assert.Equal(BootstrapStepState.Unchanged, r.State));
    }

    [SkippableFact]
    public async Task Bootstrap_AsAUserWhoseSudoAsksForAPassword_FailsAtOnceWithWhatToDo()
    {
        SkipIfNoMachines();
        var steps = BootstrapPlanner.Plan(Profile("base", Baseline("cron")), fx.Sudo.Hostname, DebianImage.PasswordSudoUser);
        using var pool = new SshSessionPool();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var rows = await new BootstrapExecutor(pool).RunAsync(fx.Endpoint(fx.Sudo, DebianImage.PasswordSudoUser), fx.Sudo.Hostname, steps, null);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "no password prompt to hang on");
        Assert.Equal(BootstrapStepState.Failed, rows[0].State);
        Assert.Contains("a password is required", rows[0].Evidence);
        Assert.Contains("NOPASSWD", rows[0].Evidence);
        Assert.All(rows.Skip(1), r => Assert.Equal(BootstrapStepState.NotRun, r.State));
    }

    [SkippableFact]
    public async Task Bootstrap_ResumesAnInstallThatWasCutOffAfterUnpacking()
    {
        SkipIfNoMachines();
        var m = fx.Root;
        // The state an install killed mid-way leaves: unpacked, not configured (dpkg would say "interrupted").
        var cut = m.Run("dpkg --unpack /var/cache/apt/archives/at_*.deb >/dev/null && dpkg-query -W -f='${Status}' at");
        Assert.True(cut.Succeeded, cut.Stderr);
        Assert.Equal("install ok unpacked", cut.Stdout);
        var step = BootstrapPlanner.Plan(Profile("at", new BootstrapSettings { Packages = ["at"], RequireDockerRunning = false, RequireQemuAgentRunning = false, RequireCronRunning = false, RequireTailscaleConnected = false }), m.Hostname);
        using var pool = new SshSessionPool();
        var rows = await new BootstrapExecutor(pool).RunAsync(fx.Endpoint(m), m.Hostname, step, null);
        Assert.Equal(BootstrapStepState.Done, Assert.Single(rows).State);
        Assert.Equal("install ok installed", m.Run("dpkg-query -W -f='${Status}' at").Stdout);
        Assert.Empty(m.Run("dpkg --audit").Stdout);
    }

    [SkippableFact]
    public async Task Bootstrap_WaitsForAnotherAptThatHoldsTheLock()
    {
        SkipIfNoMachines();
        var m = fx.Sudo;
        // A real apt-get holding the dpkg lock: it sleeps in a pre-invoke hook of its own install.
        using var other = m.RunInBackground("apt-get -q -y -o DPkg::Pre-Invoke::='sleep 6' install at >/tmp/other-apt.log 2>&1");
        var held = false;
        for (var i = 0; i < 100 && !held; i++)
        {
            held = m.Run("pgrep -f 'sleep 6' >/dev/null").Succeeded;
            if (!held) await Task.Delay(200);
        }
        Skip.IfNot(held, "the other apt-get finished before the lock could be observed (machine too slow or too fast)");
        var steps = BootstrapPlanner.Plan(Profile("lock", new BootstrapSettings { Packages = ["at"], RequireDockerRunning = false, RequireQemuAgentRunning = false, RequireCronRunning = false, RequireTailscaleConnected = false }), m.Hostname, "ops");
        using var pool = new SshSessionPool();
        var rows = await new BootstrapExecutor(pool).RunAsync(fx.Endpoint(m, "ops"), m.Hostname, steps, null);
        // Our install waited for the lock instead of failing; the other apt-get installed the package meanwhile.
        Assert.Equal(BootstrapStepState.Done, rows.Single(r => r.Step == "package:at").State);
        Assert.True(other.WaitForExit(120_000));
        Assert.Equal(0, other.ExitCode);
        Assert.Equal("install ok installed", m.Run("dpkg-query -W -f='${Status}' at").Stdout);
    }

    [SkippableFact]
    public async Task Bootstrap_BadInputs_FailOnTheirStep_KeepEarlierSteps_AndTheNextRunResumes()
    {
        SkipIfNoMachines();
        var m = fx.Root;
        using var pool = new SshSessionPool();
        var ep = fx.Endpoint(m);
        BootstrapSettings With(string[] packages, string[] services) => new()
        {
            Packages = packages, ServicesEnable = services, RequireDockerRunning = false, RequireQemuAgentRunning = false, RequireCronRunning = false, RequireTailscaleConnected = false,
            Steps = [new BootstrapCustomStep { Name = "after", Check = "test -f /root/after", Run = "touch /root/after" }],
        };
        async Task<IReadOnlyList<BootstrapStepResult>> Run(BootstrapSettings b) =>
            await new BootstrapExecutor(pool).RunAsync(ep, m.Hostname, BootstrapPlanner.Plan(Profile("bad", b), m.Hostname), null);

        // A package Debian does not have.
        var missing = await Run(With(["cron", "ir-no-such-package"], []));
        Assert.Equal([BootstrapStepState.Failed, BootstrapStepState.NotRun], missing.Skip(1).Select(r => r.State));
        Assert.Contains(missing[0].State, new[] { BootstrapStepState.Done, BootstrapStepState.Unchanged });
        Assert.Contains("Unable to locate package ir-no-such-package", missing[1].Evidence);

        // A unit that fails to start.
        var broken = await Run(With(["cron"], ["ir-broken"]));
        Assert.Equal(BootstrapStepState.Failed, broken[1].State);
        Assert.Contains("ir-broken.service", broken[1].Evidence);
        Assert.Equal("failed", m.Run("systemctl is-active ir-broken").Stdout.Trim());

        // A full disk during apt: a 64 KiB file system over apt's archive folder.
        Assert.True(m.Run("mount -t tmpfs -o size=64k ir-full /var/cache/apt/archives").Succeeded);
        try
        {
            var full = await Run(With(["cron", "logrotate"], []));
            Assert.Equal([BootstrapStepState.Unchanged, BootstrapStepState.Failed, BootstrapStepState.NotRun], full.Select(r => r.State)); // cron: from the first run
            Assert.Contains("enough free space", full[1].Evidence);
        }
        finally { m.Run("umount /var/cache/apt/archives"); }
        var resumed = await Run(With(["cron", "logrotate"], []));
        Assert.True(resumed.All(r => r.State is BootstrapStepState.Done or BootstrapStepState.Unchanged), States(resumed));
        Assert.Equal(BootstrapStepState.Unchanged, resumed[0].State);
    }

    [SkippableFact]
    public async Task Bootstrap_UnreachableOrWrongHostKey_FailsTheFirstStep_NothingElseRuns()
    {
        SkipIfNoMachines();
        var steps = BootstrapPlanner.Plan(Profile("base", Baseline("cron")), fx.Root.Hostname);
        using var pool = new SshSessionPool();
        var closed = fx.Endpoint(fx.Root) with { };
        var unreachable = new SshEndpoint("gone", "127.0.0.1", "root", ServerProcess.FreeLoopbackPort())
        {
            PrivateKeyFiles = closed.PrivateKeyFiles, PinnedHostKeys = closed.PinnedHostKeys, ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        var down = await new BootstrapExecutor(pool).RunAsync(unreachable, "gone", steps, null);
        Assert.Equal(BootstrapStepState.Failed, down[0].State);
        Assert.Contains("SshConnectFailed", down[0].Evidence);
        Assert.All(down.Skip(1).Where(r => r.State != BootstrapStepState.Skipped), r => Assert.Equal(BootstrapStepState.NotRun, r.State));

        // vm-sudo's host key pinned for vm-root: refused before anything runs.
        var wrongKey = fx.Endpoint(fx.Root) with { PinnedHostKeys = [fx.Sudo.HostKeyFingerprint] };
        var refused = await new BootstrapExecutor(pool).RunAsync(wrongKey, fx.Root.Hostname, steps, null);
        Assert.Equal(BootstrapStepState.Failed, refused[0].State);
        Assert.Contains("HostKey", refused[0].Evidence);
        Assert.All(refused.Skip(1).Where(r => r.State != BootstrapStepState.Skipped), r => Assert.Equal(BootstrapStepState.NotRun, r.State));
    }
}
