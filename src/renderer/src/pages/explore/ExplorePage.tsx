import { MissingChannels } from '../../components/EmptyState';
import { PageLayout } from '../../components/Layout';

export function ExplorePage() {
  return (
    <PageLayout title="Explore" testId="page-explore">
      <MissingChannels what="Explore" channels={[]} />
    </PageLayout>
  );
}
