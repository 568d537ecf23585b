import { MissingChannels } from '../../components/EmptyState';
import { PageLayout } from '../../components/Layout';

export function TrainPage() {
  return (
    <PageLayout title="Train" testId="page-train">
      <MissingChannels what="Train" channels={[]} />
    </PageLayout>
  );
}
