using InfraRelocation.Core.Remote;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Remote;

public sealed class BootstrapPlannerTests
{
    private static VmProfile Profile(BootstrapSettings b) => new() { Name = "p1", Bootstrap = b };

    [Fact]
    public void Plan_Apt_ChecksBeforeEveryAction_AndKeepsTheOrder()
    {
        var steps = BootstrapPlanner.Plan(Profile(new BootstrapSettings
        {
            Packages = ["cron", "qemu-guest-agent"], ServicesEnable = ["cron"],
            CronHooks = [new CronHook { Name = "prune", Schedule = "17 3 * * 0", Command = "/usr/bin/docker system prune -af", Required = true },
                         new CronHook { Name = "optional", Schedule = "* * * * *", Command = "/bin/true", Required = false }],
        }), "app-core");
        Assert.Equal(["package:cron", "package:qemu-guest-agent", "service:cron", "check:docker_running", "check:qemu_agent_running", "check:cron_running",
                      "mesh:secret-cleanup", "mesh:tailscale", "cron:prune", "cron:optional"], steps.Select(s => s.Name));
        Assert.Equal("dpkg-query -W -f='${Status}' 'cron' 2>/dev/null | grep -qx 'install ok installed'", steps[0].Check);
        Assert.Contains("DPkg::Lock::Timeout=300", steps[0].Run);
        Assert.Contains("dpkg --force-confdef --force-confold --configure -a", steps[0].Run);
        Assert.EndsWith("$a install 'cron' || { $a update && $a install 'cron'; }", steps[0].Run);
        Assert.Equal("systemctl is-enabled --quiet 'cron' && systemctl is-active --quiet 'cron'", steps[2].Check);
        Assert.Equal("systemctl enable --now 'cron'", steps[2].Run);
        Assert.Null(steps[3].Run);
        var mesh = steps[7];
        Assert.True(mesh.NeedsSecret);
        Assert.Equal("tailscale up --auth-key=file:/dev/stdin --hostname='app-core'", mesh.Run);
        Assert.Equal("command -v tailscale >/dev/null 2>&1", mesh.AppliesCheck);
        Assert.Equal("rm -f ${TMPDIR:-/tmp}/ir-secret.* /tmp/ir-secret.*", steps[6].Run);
        Assert.Contains("17 3 * * 0 /usr/bin/docker system prune -af # infra-relocation:p1/prune", steps[8].Check);
        Assert.NotNull(steps[9].SkipReason);
    }

    [Fact]
    public void Plan_ForANonRootLogin_ChecksSudoFirst_AndRunsEveryCommandThroughSudoWithoutAPrompt()
    {
        var profile = Profile(new BootstrapSettings { Packages = ["cron"], RequireDockerRunning = false, RequireQemuAgentRunning = false, RequireTailscaleConnected = false });
        var root = BootstrapPlanner.Plan(profile, "vm");
        var ops = BootstrapPlanner.Plan(profile, "vm", "ops");
        Assert.Equal(["access:sudo", .. root.Select(s => s.Name)], ops.Select(s => s.Name));
        Assert.Equal("sudo -n true", ops[0].Check);
        Assert.Null(ops[0].Run);
        Assert.Contains("NOPASSWD", ops[0].Hint);
        for (var i = 0; i < root.Count; i++)
        {
            Assert.Equal(BootstrapPlanner.Sudo(root[i].Check), ops[i + 1].Check);
            Assert.Equal(root[i].Run is null ? null : BootstrapPlanner.Sudo(root[i].Run!), ops[i + 1].Run);
        }
        Assert.Equal(@"sudo -n sh -c 'echo '\''a b'\'''", BootstrapPlanner.Sudo("echo 'a b'"));
    }

    [Fact]
    public void Plan_Apt_AddsVendorRepositoriesForDockerAndTailscale_ForTheVmsOwnDistribution()
    {
        var steps = BootstrapPlanner.Plan(Profile(new BootstrapSettings { Packages = ["tailscale", "docker-ce"], RequireTailscaleConnected = false }), "vm");
        Assert.Equal(["repo:docker", "repo:tailscale", "package:tailscale", "package:docker-ce"], steps.Take(4).Select(s => s.Name));
        Assert.Contains("download.docker.com/linux/%s %s stable", steps[0].Run);
        Assert.Contains("\"$ID\" \"$VERSION_CODENAME\"", steps[0].Run);
        Assert.DoesNotContain("ubuntu", steps[0].Run!, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("pkgs.tailscale.com/stable/$ID/$VERSION_CODENAME", steps[1].Run);
    }

    [Fact]
    public void Plan_ExplicitFalseSwitchesChecksOff_AndNoneHasNoPackageSteps()
    {
        var steps = BootstrapPlanner.Plan(Profile(new BootstrapSettings
        {
            PackageManager = "none", Packages = ["ignored"],
            RequireDockerRunning = false, RequireQemuAgentRunning = false, RequireCronRunning = true, RequireTailscaleConnected = false,
            Steps = [new BootstrapCustomStep { Name = "marker", Check = "test -f /tmp/m", Run = "touch /tmp/m" }],
        }), "vm");
        Assert.Equal(["check:cron_running", "step:marker"], steps.Select(s => s.Name));
    }

    [Fact]
    public void Plan_RefusesAnUnknownPackageManagerAndUnsafeNames()
    {
        Assert.Equal("BootstrapPackageManagerUnsupported",
            Assert.Throws<RelocationException>(() => BootstrapPlanner.Plan(Profile(new BootstrapSettings { PackageManager = "yum" }), "vm")).ErrorId);
        Assert.Equal("BootstrapNameInvalid",
            Assert.Throws<RelocationException>(() => BootstrapPlanner.Plan(Profile(new BootstrapSettings { Packages = ["cron; rm -rf /"] }), "vm")).ErrorId);
        Assert.Equal("BootstrapCronHookInvalid",
            Assert.Throws<RelocationException>(() => BootstrapPlanner.Plan(Profile(new BootstrapSettings
            { PackageManager = "none", CronHooks = [new CronHook { Name = "h", Required = true }] }), "vm")).ErrorId);
    }

    [Fact]
    public void CronCommands_InstallTheExactLineOnce_KeepingTheRestOfTheCrontabByteForByte()
    {
        var dir = Directory.CreateTempSubdirectory("ir-cron-").FullName;
        try
        {
            // A stand-in crontab(1) on PATH that keeps the table in a file.
            var table = Path.Combine(dir, "table");
            var fake = Path.Combine(dir, "crontab");
            File.WriteAllText(fake, $"#!/bin/sh\nif [ \"$1\" = -l ]; then [ -f '{table}' ] || {{ echo 'no crontab for user' >&2; exit 1; }}; cat '{table}'; else cat > '{table}'; fi\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var env = new Dictionary<string, string> { ["PATH"] = dir + ":/usr/bin:/bin" };
            var original = "# keep me\n\nMAILTO=ops\n0 1 * * * /old/job # infra-relocation:p1/prune-other\n\n";
            File.WriteAllText(table, original);
            var marker = BootstrapPlanner.CronMarker("p1", "prune");
            var line = $"17 3 * * 0 /usr/bin/prune {marker}";

            Assert.Equal("1", PreflightRunnerTests.Sh(BootstrapPlanner.CronCheckCommand(line) + "; echo $?", env));
            PreflightRunnerTests.Sh(BootstrapPlanner.CronInstallCommand(line, marker), env);
            Assert.Equal(original + line + "\n", File.ReadAllText(table));
            Assert.Equal("0", PreflightRunnerTests.Sh(BootstrapPlanner.CronCheckCommand(line) + "; echo $?", env));

            // A changed schedule replaces the hook's own line only.
            var changed = $"30 4 * * 0 /usr/bin/prune {marker}";
            PreflightRunnerTests.Sh(BootstrapPlanner.CronInstallCommand(changed, marker), env);
            Assert.Equal(original + changed + "\n", File.ReadAllText(table));

            // No crontab yet: one is created with just the line.
            File.Delete(table);
            PreflightRunnerTests.Sh(BootstrapPlanner.CronInstallCommand(line, marker), env);
            Assert.Equal(line + "\n", File.ReadAllText(table));
        }
        finally { Directory.Delete(dir, true); }
    }
}
