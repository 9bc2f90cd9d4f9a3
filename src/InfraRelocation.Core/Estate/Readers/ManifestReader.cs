using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate.Readers;

/// <summary>Reads the relocation manifest (<c>infra.relocation.plan.yaml</c>).</summary>
public static class ManifestReader
{
    public static readonly IReadOnlyDictionary<string, RelocationState> States = new Dictionary<string, RelocationState>(StringComparer.Ordinal)
    {
        ["planning"] = RelocationState.Planning,
        ["preflight"] = RelocationState.Preflight,
        ["cutover"] = RelocationState.Cutover,
        ["cleanup"] = RelocationState.Cleanup,
        ["complete"] = RelocationState.Complete,
    };

    public static readonly IReadOnlyDictionary<string, ServiceStatus> ServiceStatuses = new Dictionary<string, ServiceStatus>(StringComparer.Ordinal)
    {
        ["planned"] = ServiceStatus.Planned,
        ["shadow"] = ServiceStatus.Shadow,
        ["cutover"] = ServiceStatus.Cutover,
        ["migrated"] = ServiceStatus.Migrated,
        ["applied"] = ServiceStatus.Applied,
        ["rolled-back"] = ServiceStatus.RolledBack,
        ["complete"] = ServiceStatus.Complete,
    };

    public static readonly IReadOnlyDictionary<string, VmTargetStatus> VmStatuses = new Dictionary<string, VmTargetStatus>(StringComparer.Ordinal)
    {
        ["planned"] = VmTargetStatus.Planned,
        ["provisioned"] = VmTargetStatus.Provisioned,
        ["ready"] = VmTargetStatus.Ready,
        ["cutover"] = VmTargetStatus.Cutover,
        ["complete"] = VmTargetStatus.Complete,
    };

    /// <summary>The YAML spelling of a service status (<c>rolled-back</c>).</summary>
    public static string ToYaml(ServiceStatus status) => ServiceStatuses.First(p => p.Value == status).Key;

    /// <summary>The YAML spelling of a relocation state.</summary>
    public static string ToYaml(RelocationState state) => States.First(p => p.Value == state).Key;

    public static RelocationManifest Read(YNode? root, ReadContext context)
    {
        if (root is null || root is YScalar { IsNull: true })
        {
            // An empty manifest says nothing, not "no relocation": that is written active_relocation: null.
            context.Report("SCHEMA.EmptyDocument", root, "$",
                $"{context.File} is empty: a manifest needs at least version and active_relocation (null when no relocation is in flight).",
                expected: "a mapping", actual: "an empty document");
        }
        var doc = context.Root(root);
        var manifest = new RelocationManifest
        {
            File = context.File,
            Version = doc.Int("version"),
            UpdatedAt = doc.Date("updated_at", out _),
            Owner = doc.Str("owner"),
            ActiveRelocation = ReadActive(doc.Map("active_relocation")),
            CompletedRelocations = context.Items(doc.Node("completed_relocations"), "completed_relocations")
                .Select(i => ReadCompleted(Fields.Of(context, i.Node, i.Path, i.Path))).ToList(),
            VmTargets = context.Items(doc.Node("vm_targets"), "vm_targets")
                .Select(i => ReadVmTarget(Fields.Of(context, i.Node, i.Path, i.Path), i.Index)).ToList(),
            Services = context.Items(doc.Node("services"), "services")
                .Select(i => ReadService(Fields.Of(context, i.Node, i.Path, i.Path), i.Index)).ToList(),
            RequiredUpdates = ReadRequiredUpdates(context, doc.Node("required_updates")),
            Exceptions = context.Items(doc.Node("exceptions"), "exceptions")
                .Select(i => ReadException(Fields.Of(context, i.Node, i.Path, i.Path), requireAllowedPaths: false)).ToList(),
            Rollback = ReadRollback(doc.Map("rollback")),
            LedgerAnchor = doc.Str(Receipts.LedgerAnchor.ManifestKey),
        };
        if (manifest.ActiveRelocation is not null)
        {
            // The protocol's required fields: while a relocation is active these lists are present (they may be empty).
            foreach (var key in RequiredLists)
            {
                var node = doc.Node(key);
                if (node is null || node is YScalar { IsNull: true })
                {
                    context.Report("SCHEMA.MissingField", node ?? doc.Node("active_relocation"), key,
                        $"Required field '{key}' is {(node is null ? "missing" : "null")}: while a relocation is active the manifest lists its {key} (write {key}: [] when there are none).",
                        expected: "a list (may be empty)", actual: node is null ? null : "null");
                }
            }
        }
        context.Duplicates(manifest.Services, s => s.Service, "SCHEMA.DuplicateService", "service", "services", "service");
        context.Duplicates(manifest.VmTargets, v => v.Hostname, "SCHEMA.DuplicateVmHostname", "VM hostname", "vm_targets", "hostname");
        context.Duplicates(manifest.VmTargets, v => v.VmId?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "SCHEMA.DuplicateVmId", "VMID", "vm_targets", "vm_id");
        return doc.Finish(manifest);
    }

    private static ActiveRelocation? ReadActive(Fields f)
    {
        if (!f.Exists)
        {
            return null;
        }
        return f.Finish(new ActiveRelocation
        {
            ChangeId = f.Str("change_id", required: true),
            State = f.Enum("state", States, out var stateText, required: true),
            StateText = stateText,
            Owner = f.Str("owner", required: true),
            ApprovedBy = f.Str("approved_by"),
            UpdatedAt = f.Date("updated_at", out _),
        });
    }

    private static CompletedRelocation ReadCompleted(Fields f) => f.Finish(new CompletedRelocation
    {
        ChangeId = f.Str("change_id"),
        State = f.Str("state"),
        CompletedAt = f.Date("completed_at", out _),
    });

    private static VmTarget ReadVmTarget(Fields f, int index)
    {
        var hostname = f.Str("hostname", required: true) ?? "";
        return f.Finish(new VmTarget
        {
            Index = index,
            Hostname = hostname,
            VmId = f.Int("vm_id", required: true),
            Role = f.Str("role"),
            TailscaleIp = f.Str("tailscale_ip"),
            ProxmoxHost = f.Str("proxmox_host", required: true),
            CiNetworkCidr = f.Str("ci_network_cidr"),
            Profile = f.Str("profile"),
            Status = f.Enum("status", VmStatuses, out var statusText, subject: hostname),
            StatusText = statusText,
            Address = f.Str("address"),
        });
    }

    private static ServiceMove ReadService(Fields f, int index)
    {
        var service = f.Str("service", required: true) ?? "";
        return f.Finish(new ServiceMove
        {
            Index = index,
            Service = service,
            FromHost = f.Str("from_host"),
            ToHost = f.Str("to_host", required: true),
            Phase = f.Int("phase"),
            HealthUrl = HealthUrl(f, service),
            RollbackTo = f.Str("rollback_to"),
            BackupTarget = f.Str("backup_target"),
            Status = f.Enum("status", ServiceStatuses, out var statusText, required: true, subject: service),
            StatusText = statusText,
        });
    }

    /// <summary>The lists the protocol requires while a relocation is active.</summary>
    public static readonly IReadOnlyList<string> RequiredLists = ["vm_targets", "services", "required_updates"];

    /// <summary><c>health_url</c>: absent or null, or an absolute http(s) URL.</summary>
    private static string? HealthUrl(Fields f, string service)
    {
        var url = f.Str("health_url");
        if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            f.Context.Report("SCHEMA.InvalidUrl", f.Node("health_url"), f.PathOf("health_url"),
                $"{f.PathOf("health_url")} of service {service} is '{url}', not an http or https URL.", service, "an http(s) URL", url);
        }
        return url;
    }

    private static List<RequiredUpdate> ReadRequiredUpdates(ReadContext context, YNode? node)
    {
        var list = new List<RequiredUpdate>();
        foreach (var (item, _, path) in context.Items(node, "required_updates"))
        {
            // Either a plain path or a mapping with 'path' (and anything else, kept as extra).
            if (item is YScalar { IsNull: false } scalar)
            {
                list.Add(new RequiredUpdate { Path = scalar.Value, Location = context.At(scalar) });
            }
            else
            {
                var f = Fields.Of(context, item, path, path);
                if (f.Exists)
                {
                    list.Add(f.Finish(new RequiredUpdate { Path = f.Str("path", required: true) ?? "" }));
                }
                else if (item is YScalar)
                {
                    context.Report("SCHEMA.WrongType", item, path, $"{path} must be a path, found null.", expected: "a path", actual: "null");
                }
            }
        }
        return list;
    }

    /// <summary>Reads one exception entry (manifest <c>exceptions[]</c> or the exception register).</summary>
    public static ExceptionEntry ReadException(Fields f, bool requireAllowedPaths)
    {
        _ = requireAllowedPaths;
        return f.Finish(new ExceptionEntry
        {
            Label = f.Str("label", required: true) ?? "",
            Owner = f.Str("owner"),
            Reason = f.Str("reason"),
            ExpiresAtText = f.Date("expires_at", out var expires, required: true),
            ExpiresAt = expires,
            AllowedPaths = f.StrList("allowed_paths"),
            File = f.Context.File,
        });
    }

    private static RollbackPolicy? ReadRollback(Fields f) => !f.Exists ? null : f.Finish(new RollbackPolicy
    {
        MaxRollbackWindowHours = f.Num("max_rollback_window_hours"),
        RequiresBackupVerification = f.Bool("requires_backup_verification"),
        RequiresHealthBaseline = f.Bool("requires_health_baseline"),
    });
}
