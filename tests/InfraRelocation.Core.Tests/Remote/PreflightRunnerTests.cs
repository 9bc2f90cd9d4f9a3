using System.Diagnostics;
using InfraRelocation.Core.Remote;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Remote;

public sealed class PreflightRunnerTests
{
    private static ServiceMove Svc(string name, ServiceStatus? status) => new()
    {
        Service = name, FromHost = "src", ToHost = "dst", RollbackTo = "dr", Status = status, StatusText = status?.ToString().ToLowerInvariant(),
    };

    [Theory]
    [InlineData(ServiceStatus.Shadow, "dr", "dst,src")]
    [InlineData(ServiceStatus.Cutover, "dr", "dst,src")]
    [InlineData(ServiceStatus.Applied, "dr,src", "dst")]   // the reference left applied's to_host optional
    [InlineData(ServiceStatus.Migrated, "dr,src", "dst")]
    [InlineData(ServiceStatus.Complete, "dr,src", "dst")]
    [InlineData(ServiceStatus.RolledBack, "dst,src", "dr")]
    [InlineData(ServiceStatus.Planned, "dr,dst,src", "")]
    public void InvolvedHosts_RequiresHostsByServiceStatus(ServiceStatus status, string optional, string required)
    {
        var hosts = PreflightRunner.InvolvedHosts(new RelocationManifest { Services = [Svc("web", status)] });
        Assert.Equal(required, string.Join(",", hosts.Where(h => h.Required).Select(h => h.HostId)));
        Assert.Equal(optional, string.Join(",", hosts.Where(h => !h.Required).Select(h => h.HostId)));
    }

    [Fact]
    public void InvolvedHosts_VmTargetsAndHypervisorsUnlessPlanned_IgnoresPlaceholders_MergesReasons()
    {
        var manifest = new RelocationManifest
        {
            VmTargets =
            [
                new VmTarget { Hostname = "app", ProxmoxHost = "pve-a", Status = VmTargetStatus.Ready, StatusText = "ready" },
                new VmTarget { Hostname = "later", ProxmoxHost = "pve-b", Status = VmTargetStatus.Planned, StatusText = "planned" },
            ],
            Services = [new ServiceMove { Service = "x", FromHost = "new", ToHost = "app", RollbackTo = "none", Status = ServiceStatus.Planned }],
        };
        var hosts = PreflightRunner.InvolvedHosts(manifest).ToDictionary(h => h.HostId);
        Assert.Equal(["app", "later", "pve-a", "pve-b"], hosts.Keys);
        Assert.True(hosts["app"].Required);
        Assert.True(hosts["pve-a"].Required);
        Assert.False(hosts["later"].Required);
        Assert.Equal(2, hosts["app"].Reasons.Count);
    }

    [Theory]
    [InlineData("nas:/backups/wiki", "nas", "/backups/wiki")]
    [InlineData("nas:relative", null, null)]
    [InlineData("/no/host", null, null)]
    [InlineData("nas:", null, null)]
    public void ParseBackupTarget(string value, string? host, string? path)
    {
        var parsed = PreflightRunner.ParseBackupTarget(value);
        Assert.Equal(host, parsed?.Host);
        Assert.Equal(path, parsed?.Path);
    }

    [Fact]
    public void BackupCheckCommand_TellsFreshStaleAndMissing_RunByARealShell()
    {
        var dir = Directory.CreateTempSubdirectory("ir-backup-").FullName;
        try
        {
            var path = Path.Combine(dir, "it's here");
            Directory.CreateDirectory(path);
            Assert.Equal("IR_BACKUP=stale 0", Sh(PreflightRunner.BackupCheckCommand(path, 26)));
            var old = Path.Combine(path, "old.tar");
            File.WriteAllText(old, "x");
            File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-30));
            Assert.Equal("IR_BACKUP=stale 1", Sh(PreflightRunner.BackupCheckCommand(path, 26)));
            File.WriteAllText(Path.Combine(path, "new.tar"), "x");
            Assert.Equal($"IR_BACKUP=fresh {path}/new.tar", Sh(PreflightRunner.BackupCheckCommand(path, 26)));
            Assert.Equal("IR_BACKUP=missing", Sh(PreflightRunner.BackupCheckCommand(Path.Combine(dir, "nope"), 26)));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task HealthBaseline_SkipsAHealthUrlOfNoneOrNull_LikeTheGates()
    {
        var root = Directory.CreateTempSubdirectory("ir-preflight-").FullName;
        try
        {
            var estate = new Core.Estate.EstateSnapshot
            {
                Layout = new Core.Estate.EstateLayout(root),
                Manifest = new RelocationManifest
                {
                    Services =
                    [
                        Svc("placeholder", ServiceStatus.Planned) with { HealthUrl = "none", FromHost = null, ToHost = null, RollbackTo = null },
                        Svc("unset", ServiceStatus.Planned) with { HealthUrl = "null", FromHost = null, ToHost = null, RollbackTo = null },
                        Svc("broken", ServiceStatus.Planned) with { HealthUrl = "not a url", FromHost = null, ToHost = null, RollbackTo = null },
                    ],
                },
            };
            using var pool = new Core.Ssh.SshSessionPool();
            using var http = new Core.Health.HttpHealthProbe();
            var result = await new PreflightRunner(pool, http).RunAsync(estate, new PreflightOptions { SkipBackups = true });
            // Only the real (if malformed) value is probed and reported; "none" and "null" mean no endpoint.
            Assert.Equal(["broken"], result.HealthBaseline.Select(h => h.Service));
        }
        finally { Directory.Delete(root, true); }
    }

    internal static string Sh(string command, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output.Trim();
    }
}
