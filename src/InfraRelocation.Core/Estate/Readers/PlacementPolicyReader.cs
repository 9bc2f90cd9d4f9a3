using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate.Readers;

/// <summary>Reads the placement policy (<c>infra.placement.policy.yaml</c>).</summary>
public static class PlacementPolicyReader
{
    public static PlacementPolicy Read(YNode? root, ReadContext context)
    {
        var doc = context.Root(root);
        var sites = new Dictionary<string, PlacementSite>(StringComparer.Ordinal);
        foreach (var (key, value, path) in context.Entries(doc.Node("sites"), "sites"))
        {
            var f = Fields.Of(context, value, path, path);
            sites[key.Value] = f.Finish(new PlacementSite
            {
                Id = key.Value,
                ProxmoxHosts = f.StrList("proxmox_hosts") ?? [],
                VmidMin = f.Int("vmid_min"),
                VmidMax = f.Int("vmid_max"),
            });
        }
        var hosts = new Dictionary<string, PlacementHost>(StringComparer.Ordinal);
        foreach (var (key, value, path) in context.Entries(doc.Node("hosts"), "hosts"))
        {
            var f = Fields.Of(context, value, path, path);
            var host = f.Finish(new PlacementHost
            {
                Id = key.Value,
                Site = f.Str("site"),
                Kind = f.Str("kind"),
                MachineId = f.Str("machine_id"),
            });
            if (host.MachineId is { } id && !IsMachineId(id))
            {
                context.Report("SCHEMA.InvalidMachineId", value is YMapping m ? m["machine_id"] : value, $"{path}.machine_id",
                    $"{path}.machine_id must be 32 lower-case hex digits (/etc/machine-id), found '{id}'.", key.Value,
                    "32 hex digits", id);
            }
            hosts[key.Value] = host;
        }
        var requirements = new Dictionary<string, VmTargetRequirement>(StringComparer.Ordinal);
        foreach (var (key, value, path) in context.Entries(doc.Node("vm_target_requirements"), "vm_target_requirements"))
        {
            var f = Fields.Of(context, value, path, path);
            requirements[key.Value] = f.Finish(new VmTargetRequirement
            {
                Hostname = key.Value,
                RequiredSite = f.Str("required_site"),
                RequiredProxmoxHost = f.Str("required_proxmox_host"),
            });
        }
        var placement = new Dictionary<string, ServicePlacementRule>(StringComparer.Ordinal);
        foreach (var (key, value, path) in context.Entries(doc.Node("service_placement"), "service_placement"))
        {
            var f = Fields.Of(context, value, path, path);
            placement[key.Value] = f.Finish(new ServicePlacementRule
            {
                Service = key.Value,
                PrimarySite = f.Str("primary_site"),
                DrSites = f.StrList("dr_sites"),
            });
        }
        var g = doc.Map("guards");
        var guards = g.Finish(new PlacementGuards
        {
            EnforceVmidRanges = g.Bool("enforce_vmid_ranges") ?? false,
            RequireExplicitVmTargetRequirements = g.Bool("require_explicit_vm_target_requirements") ?? false,
            RequireServicePolicyForManifestServices = g.Bool("require_service_policy_for_manifest_services") ?? false,
            EnforceServicePrimarySite = g.Bool("enforce_service_primary_site") ?? false,
            EnforceVmSiteMatchesHypervisorSite = g.Bool("enforce_vm_site_matches_hypervisor_site") ?? false,
        });
        return doc.Finish(new PlacementPolicy
        {
            File = context.File,
            Sites = sites,
            Hosts = hosts,
            VmTargetRequirements = requirements,
            ServicePlacement = placement,
            Guards = guards,
        });
    }

    private static bool IsMachineId(string id) => id.Length == 32 && id.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
