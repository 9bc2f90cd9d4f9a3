using System.Text;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>Generates a synthetic estate with many services (for load-time measurements).</summary>
internal static class LargeEstate
{
    public static string Create(int services)
    {
        var root = TestEstate.CopySample();
        var manifest = new StringBuilder(File.ReadAllText(Path.Combine(root, "ops/bindings/infra.relocation.plan.yaml")));
        var registry = new StringBuilder(File.ReadAllText(Path.Combine(root, "ops/governance/SERVICE_REGISTRY.yaml")));
        var health = new StringBuilder(File.ReadAllText(Path.Combine(root, "ops/bindings/services.health.yaml")));
        var policy = new StringBuilder(File.ReadAllText(Path.Combine(root, "ops/bindings/infra.placement.policy.yaml")));

        var services_ = new StringBuilder();
        var registryServices = new StringBuilder();
        var endpoints = new StringBuilder();
        var placement = new StringBuilder();
        for (var i = 0; i < services; i++)
        {
            var name = $"svc-{i:D5}";
            services_.Append($"  - service: \"{name}\"\n    from_host: \"legacy-docker\"\n    to_host: \"app-core\"\n    phase: {i % 5}\n" +
                             $"    health_url: \"http://192.0.2.110:{10000 + i % 50000}/health\"\n    rollback_to: \"legacy-docker\"\n" +
                             $"    backup_target: null\n    status: \"{(i % 3 == 0 ? "shadow" : "planned")}\"\n");
            registryServices.Append($"  {name}:\n    host: {(i % 3 == 0 ? "app-core" : "legacy-docker")}\n    port: {10000 + i % 50000}\n    status: active\n");
            endpoints.Append($"  - id: {name}\n    host: app-core\n    url: \"http://192.0.2.110:{10000 + i % 50000}/health\"\n    expect: 200\n");
            placement.Append($"  {name}: {{ primary_site: fra1, dr_sites: [\"fra1\"] }}\n");
        }
        Insert(manifest, "\nrequired_updates:", services_.ToString());
        Insert(registry, "\nhosts:", registryServices.ToString());
        health.Append(endpoints);
        Insert(policy, "\nguards:", placement.ToString());
        File.WriteAllText(Path.Combine(root, "ops/bindings/infra.relocation.plan.yaml"), manifest.ToString());
        File.WriteAllText(Path.Combine(root, "ops/governance/SERVICE_REGISTRY.yaml"), registry.ToString());
        File.WriteAllText(Path.Combine(root, "ops/bindings/services.health.yaml"), health.ToString());
        File.WriteAllText(Path.Combine(root, "ops/bindings/infra.placement.policy.yaml"), policy.ToString());
        return root;
    }

    // Inserts before the first line that starts with marker (marker includes the leading newline).
    private static void Insert(StringBuilder text, string marker, string block)
    {
        var s = text.ToString();
        var at = s.IndexOf(marker, StringComparison.Ordinal);
        text.Clear().Append(s[..(at + 1)]).Append(block).Append(s[(at + 1)..]);
    }
}
