import { MissingChannels } from '../../components/EmptyState';
import { PageLayout } from '../../components/Layout';

export function LatentPage() {
  return (
    <PageLayout title="Latent" testId="page-latent">
      <MissingChannels what="Latent" channels={[]} />
    </PageLayout>
  );
}
