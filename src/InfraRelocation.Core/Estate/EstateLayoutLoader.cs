namespace InfraRelocation.Core.Estate;

/// <summary>Builds an <see cref="EstateLayout"/> for a root, applying <c>ops/infra-relocation.yaml</c> when present.</summary>
public static class EstateLayoutLoader
{
    public static EstateLayout Load(string root)
    {
        var configPath = Path.Combine(root, EstateLayout.ConfigFile);
        if (!File.Exists(configPath) && !Directory.Exists(configPath))
        {
            return new EstateLayout(root);
        }
        var config = EstateConfig.Load(configPath, EstateLayout.ConfigFile);
        return new EstateLayout(root, config.PathOverrides, config.ReceiptsFolder ?? "receipts", config);
    }
}
