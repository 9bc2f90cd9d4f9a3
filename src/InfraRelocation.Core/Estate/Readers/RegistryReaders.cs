using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate.Readers;

/// <summary>Reads <c>SERVICE_REGISTRY.yaml</c>: <c>services.&lt;name&gt;</c> and <c>hosts.&lt;id&gt;</c>.</summary>
public static class ServiceRegistryReader
{
    public static ServiceRegistry Read(YNode? root, ReadContext context)
    {
        var doc = context.Root(root);
        var services = new Dictionary<string, RegisteredService>(StringComparer.Ordinal);
        foreach (var (key, value, path) in context.Entries(doc.Node("services"), "services"))
        {
            var f = Fields.Of(context, value, path, path);
            var c = f.Map("commands");
            var commands = c.Exists ? c.Finish(new ServiceCommands
            {
                Stop = c.Str("stop"), Start = c.Str("start"), Running = c.Str("running"),
                VerifyBackup = c.Str("verify_backup"), Restore = c.Str("restore"), Route = c.Str("route"),
            }) : null;
            services[key.Value] = f.Finish(new RegisteredService
            {
                Name = key.Value,
                Host = f.Str("host"),
                // Hand-written registries use "8080/tcp" and the like: not an error for the relocation.
                Port = f.Int("port", severity: FindingSeverity.Warning),
                Health = f.Str("health"),
                Container = f.Str("container"),
                Compose = f.Str("compose"),
                Status = f.Str("status"),
                Unit = f.Str("unit"),
                Commands = commands,
            });
        }
        var hosts = new Dictionary<string, RegisteredHost>(StringComparer.Ordinal);
        foreach (var (key, value, path) in context.Entries(doc.Node("hosts"), "hosts"))
        {
            var f = Fields.Of(context, value, path, path);
            hosts[key.Value] = f.Finish(new RegisteredHost
            {
                Id = key.Value,
                TailscaleIp = f.Str("tailscale_ip"),
                Ssh = f.Str("ssh"),
                Os = f.Str("os"),
                VmId = f.Int("vmid"),
                ProxmoxHost = f.Str("proxmox_host"),
            });
        }
        return doc.Finish(new ServiceRegistry { File = context.File, Services = services, Hosts = hosts });
    }
}

/// <summary>Reads <c>STACK_REGISTRY.yaml</c> (<c>stacks[]</c>).</summary>
public static class StackRegistryReader
{
    public static StackRegistry Read(YNode? root, ReadContext context)
    {
        var doc = context.Root(root);
        var stacks = context.Items(doc.Node("stacks"), "stacks").Select(i =>
        {
            var f = Fields.Of(context, i.Node, i.Path, i.Path);
            return f.Finish(new StackEntry
            {
                Index = i.Index,
                StackId = f.Str("stack_id", required: true) ?? "",
                Name = f.Str("name"),
                Repo = f.Str("repo"),
                Path = f.Str("path"),
                ComposeFiles = f.StrList("compose_files") ?? [],
                DeployMethod = f.Str("deploy_method"),
                DeployTarget = f.Str("deploy_target"),
                Status = f.Str("status"),
                Owner = f.Str("owner"),
            });
        }).ToList();
        context.Duplicates(stacks, s => s.StackId, "SCHEMA.DuplicateStack", "stack id", "stacks", "stack_id");
        return doc.Finish(new StackRegistry { File = context.File, Stacks = stacks });
    }
}

/// <summary>Reads <c>services.health.yaml</c> (<c>defaults</c>, <c>endpoints[]</c>).</summary>
public static class HealthBindingsReader
{
    public static HealthBindings Read(YNode? root, ReadContext context)
    {
        var doc = context.Root(root);
        var defaults = doc.Map("defaults");
        var connect = defaults.Int("connect_timeout_sec");
        var max = defaults.Int("max_time_sec");
        var endpoints = context.Items(doc.Node("endpoints"), "endpoints").Select(i =>
        {
            var f = Fields.Of(context, i.Node, i.Path, i.Path);
            return f.Finish(new HealthEndpoint
            {
                Index = i.Index,
                Id = f.Str("id", required: true) ?? "",
                Host = f.Str("host"),
                Url = f.Str("url"),
                Expect = Expect(f),
                Enabled = f.Bool("enabled") ?? true,
                Description = f.Str("description"),
            });
        }).ToList();
        context.Duplicates(endpoints, e => e.Id, "SCHEMA.DuplicateHealthEndpoint", "health endpoint id", "endpoints", "id");
        return doc.Finish(new HealthBindings { File = context.File, ConnectTimeoutSec = connect, MaxTimeSec = max, Endpoints = endpoints });
    }

    // expect: 200, "200,302" or [200, 302]; default 200.
    private static IReadOnlyList<int> Expect(Fields f)
    {
        var node = f.Node("expect");
        IEnumerable<(YNode Node, string Text)> parts = node switch
        {
            null or YScalar { IsNull: true } => [],
            YScalar s => s.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(t => ((YNode)s, t)),
            YSequence seq => seq.Items.Select(n => (n, n is YScalar sc ? sc.Value : "")),
            _ => [(node, "")],
        };
        var codes = new List<int>();
        foreach (var (n, text) in parts)
        {
            if (int.TryParse(text, out var code) && code is >= 100 and <= 599)
            {
                codes.Add(code);
            }
            else
            {
                f.Context.Report("SCHEMA.WrongType", n, f.PathOf("expect"),
                    $"{f.PathOf("expect")} must be HTTP status codes (e.g. 200 or \"200,302\"), found {n.Describe}.",
                    expected: "HTTP status code", actual: text);
            }
        }
        return codes.Count == 0 ? [200] : codes;
    }
}

/// <summary>Reads <c>backup.inventory.yaml</c> (<c>targets[]</c>).</summary>
public static class BackupInventoryReader
{
    public static BackupInventory Read(YNode? root, ReadContext context)
    {
        var doc = context.Root(root);
        var targets = context.Items(doc.Node("targets"), "targets").Select(i =>
        {
            var f = Fields.Of(context, i.Node, i.Path, i.Path);
            return f.Finish(new BackupTarget
            {
                Index = i.Index,
                Name = f.Str("name", required: true) ?? "",
                Enabled = f.Bool("enabled") ?? true,
                Kind = f.Str("kind"),
                Host = f.Str("host"),
                BasePath = f.Str("base_path"),
                Glob = f.Str("glob"),
                StaleAfterHours = f.Num("stale_after_hours"),
                Classification = f.Str("classification"),
            });
        }).ToList();
        context.Duplicates(targets, t => t.Name, "SCHEMA.DuplicateBackupTarget", "backup target", "targets", "name");
        return doc.Finish(new BackupInventory { File = context.File, Targets = targets });
    }
}

/// <summary>Reads <c>naming.policy.yaml</c> (<c>allowed_exceptions[]</c>).</summary>
public static class NamingPolicyReader
{
    public static NamingPolicy Read(YNode? root, ReadContext context)
    {
        var doc = context.Root(root);
        var exceptions = context.Items(doc.Node("allowed_exceptions"), "allowed_exceptions").Select(i =>
        {
            var f = Fields.Of(context, i.Node, i.Path, i.Path);
            return f.Finish(new NamingException
            {
                Host = f.Str("host", required: true) ?? "",
                Surface = f.Str("surface"),
                Actual = f.Str("actual"),
                Reason = f.Str("reason"),
            });
        }).ToList();
        return doc.Finish(new NamingPolicy { File = context.File, AllowedExceptions = exceptions });
    }
}

/// <summary>Reads the exception register (<c>legacy.entrypoint.exceptions.yaml</c>, <c>exceptions[]</c>).</summary>
public static class ExceptionRegisterReader
{
    public static ExceptionRegister Read(YNode? root, ReadContext context)
    {
        var doc = context.Root(root);
        var exceptions = context.Items(doc.Node("exceptions"), "exceptions")
            .Select(i => ManifestReader.ReadException(Fields.Of(context, i.Node, i.Path, i.Path), requireAllowedPaths: true)).ToList();
        context.Duplicates(exceptions, e => e.Label, "SCHEMA.DuplicateException", "exception label", "exceptions", "label");
        return doc.Finish(new ExceptionRegister { File = context.File, Exceptions = exceptions });
    }
}
