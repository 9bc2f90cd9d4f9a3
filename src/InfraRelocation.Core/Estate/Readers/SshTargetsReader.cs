using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate.Readers;

/// <summary>Reads the SSH address book (<c>ssh.targets.yaml</c>: <c>ssh.defaults</c> and the <c>ssh.targets</c> list).</summary>
public static class SshTargetsReader
{
    public static SshTargetCatalog Read(YNode? root, ReadContext context)
    {
        var doc = context.Root(root);
        var ssh = doc.Map("ssh");
        var d = ssh.Map("defaults");
        var defaults = d.Finish(new SshDefaults
        {
            User = d.Str("user"),
            Port = d.Int("port"),
            ConnectTimeoutSec = d.Int("connect_timeout_sec"),
            KnownHostsFile = d.Str("known_hosts_file") ?? d.Str("user_known_hosts_file"),
            IdentityFile = d.Str("identity_file"),
        });
        var targets = context.Items(ssh.Node("targets"), "ssh.targets").Select(i =>
        {
            var f = Fields.Of(context, i.Node, i.Path, i.Path);
            return f.Finish(new SshTarget
            {
                Index = i.Index,
                Id = f.Str("id", required: true) ?? "",
                Host = f.Str("host"),
                User = f.Str("user"),
                Port = f.Int("port"),
                TailscaleIp = f.Str("tailscale_ip"),
                AccessPolicy = f.Str("access_policy"),
                HostKeys = HostKeys(f),
                IdentityFile = f.Str("identity_file"),
                Description = f.Str("description"),
            });
        }).ToList();
        context.Duplicates(targets, t => t.Id, "SCHEMA.DuplicateSshTarget", "SSH target id", "ssh.targets", "id");
        var catalog = doc.Finish(new SshTargetCatalog { File = context.File, Defaults = defaults, Targets = targets });
        return catalog with { FieldLocations = ssh.Locations };
    }

    // host_key: one fingerprint or a list; host_keys: a list.
    private static IReadOnlyList<string> HostKeys(Fields f)
    {
        if (f.Node("host_key") is YScalar { IsNull: false } single)
        {
            return [single.Value];
        }
        return f.StrList("host_key") ?? f.StrList("host_keys") ?? [];
    }
}
