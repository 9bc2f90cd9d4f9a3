namespace InfraRelocation.Core.Estate;

/// <summary>Builds an <see cref="EstateLayout"/> for a root, applying <c>ops/infra-relocation.yaml</c> when present.</summary>
public static class EstateLayoutLoader
{
    public static EstateLayout Load(string root)
    {
        // The config file itself is read through the boundary too (ops/ may be a link out of the root).
        var configPath = new EstateBoundary(root).Resolve(EstateLayout.ConfigFile);
        if (!File.Exists(configPath) && !Directory.Exists(configPath))
        {
            return new EstateLayout(root).EnsureInsideRoot();
        }
        var config = EstateConfig.Load(configPath, EstateLayout.ConfigFile);
        return new EstateLayout(root, config.PathOverrides, config.ReceiptsFolder ?? "receipts", config).EnsureInsideRoot();
    }
}
